-- A rebuild never loses an order the view has and the history does not: it is kept as it is.
INSERT INTO {orders}_rebuilt (order_id, customer_id, username, timestamp, sauce, cheese,
                              main_topping, extra_toppings, status, status_at)
SELECT order_id, customer_id, username, timestamp, sauce, cheese, main_topping, extra_toppings,
       status, status_at
FROM {orders}
WHERE order_id NOT IN (SELECT order_id FROM {orders}_rebuilt)
