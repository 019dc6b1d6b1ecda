SELECT seq, order_id, customer_id, status, status_at
FROM {orders}_changes
WHERE order_id = $1 AND seq > $2
ORDER BY seq
