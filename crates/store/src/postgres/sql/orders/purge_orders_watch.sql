-- The watches of the orders about to go, so none is left watching an order that is gone.
DELETE FROM {watch}
WHERE order_id IN (SELECT order_id FROM {orders} WHERE timestamp < $1)
