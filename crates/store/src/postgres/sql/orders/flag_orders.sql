-- The status's event time stays, so any real progress replaces the flag.
UPDATE {orders} SET status = $2
WHERE order_id = ANY($1)
RETURNING order_id, customer_id, status_at
