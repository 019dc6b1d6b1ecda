UPDATE {orders} SET status = u.status, status_at = u.status_at
FROM UNNEST($1::text[], $2::bigint[], $3::bigint[]) AS u(order_id, status, status_at)
WHERE {orders}.order_id = u.order_id
