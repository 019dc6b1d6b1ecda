INSERT INTO {watch} (order_id, status, updated_at)
SELECT order_id, status, $3 FROM UNNEST($1::text[], $2::bigint[]) AS u(order_id, status)
ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
