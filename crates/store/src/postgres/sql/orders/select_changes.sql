SELECT seq, order_id, customer_id, status, status_at
FROM {orders}_changes
WHERE seq > $1
ORDER BY seq
LIMIT $2
