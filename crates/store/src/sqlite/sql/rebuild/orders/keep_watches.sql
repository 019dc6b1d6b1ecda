-- The watches of the live orders the history does not hold (before keep_orders copies them).
INSERT INTO {watch}_rebuilt (order_id, status, updated_at)
SELECT order_id, status, updated_at FROM {watch}
WHERE order_id IN (SELECT order_id FROM {orders})
  AND order_id NOT IN (SELECT order_id FROM {orders}_rebuilt)
