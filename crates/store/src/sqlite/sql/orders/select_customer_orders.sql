SELECT order_id, customer_id, username, timestamp, sauce, cheese, main_topping,
       extra_toppings, status, status_at
FROM {orders}
WHERE customer_id = ?1
ORDER BY timestamp DESC, order_id
LIMIT ?2
