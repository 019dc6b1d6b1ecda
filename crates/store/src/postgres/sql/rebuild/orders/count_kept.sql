-- The live view's orders the history does not hold: placed since the rebuild began ($1), so not
-- yet on the topic when it was read, or older (the history begins after them).
SELECT COUNT(*) FILTER (WHERE timestamp >= $1), COUNT(*) FILTER (WHERE timestamp < $1)
FROM {orders}
WHERE order_id NOT IN (SELECT order_id FROM {orders}_rebuilt)
