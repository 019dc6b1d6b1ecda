-- In one order, so two writers folding overlapping batches cannot deadlock.
SELECT order_id, status, status_at, customer_id
FROM {orders}
WHERE order_id = ANY($1)
ORDER BY order_id
FOR UPDATE
