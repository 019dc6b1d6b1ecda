-- An order as the history has it, replacing what the rebuilt table held of it (the tail read
-- while the switch waits may change an order written before).
INSERT INTO {orders}_rebuilt (order_id, customer_id, username, timestamp, sauce, cheese,
                              main_topping, extra_toppings, status, status_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (order_id) DO UPDATE SET
    customer_id = excluded.customer_id, username = excluded.username,
    timestamp = excluded.timestamp, sauce = excluded.sauce, cheese = excluded.cheese,
    main_topping = excluded.main_topping, extra_toppings = excluded.extra_toppings,
    status = excluded.status, status_at = excluded.status_at
