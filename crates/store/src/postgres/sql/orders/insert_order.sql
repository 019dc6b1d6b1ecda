-- The status's event time is the order's own ($4 twice) until a status event replaces it. A
-- second order with the same id changes nothing: the store then answers that it is a duplicate.
INSERT INTO {orders} (order_id, customer_id, username, timestamp, sauce, cheese, main_topping,
                      extra_toppings, status, status_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $4)
ON CONFLICT (order_id) DO NOTHING
