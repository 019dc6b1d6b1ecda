-- Orders as the history has them, replacing what the rebuilt table held of them (the tail read
-- while the switch waits may change an order written before). A batch's columns as arrays; each
-- order's extra toppings as a JSON array ($8), since arrays of arrays must all be one length.
INSERT INTO {orders}_rebuilt (order_id, customer_id, username, timestamp, sauce, cheese,
                              main_topping, extra_toppings, status, status_at)
SELECT u.order_id, u.customer_id, u.username, u.timestamp, u.sauce, u.cheese, u.main_topping,
       ARRAY(SELECT json_array_elements_text(u.extras::json)), u.status, u.status_at
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::bigint[], $10::bigint[])
     AS u(order_id, customer_id, username, timestamp, sauce, cheese, main_topping, extras,
          status, status_at)
ON CONFLICT (order_id) DO UPDATE SET
    customer_id = excluded.customer_id, username = excluded.username,
    timestamp = excluded.timestamp, sauce = excluded.sauce, cheese = excluded.cheese,
    main_topping = excluded.main_topping, extra_toppings = excluded.extra_toppings,
    status = excluded.status, status_at = excluded.status_at
