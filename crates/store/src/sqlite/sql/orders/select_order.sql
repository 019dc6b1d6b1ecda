SELECT order_id, customer_id, username, timestamp, sauce, cheese, main_topping,
       extra_toppings, status, status_at
FROM {orders}
WHERE order_id = ?1
