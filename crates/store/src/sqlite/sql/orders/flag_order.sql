-- The status's event time stays, so any real progress replaces the flag.
UPDATE {orders} SET status = ?2
WHERE order_id = ?1
RETURNING customer_id, status_at
