INSERT INTO {orders}_changes (order_id, customer_id, status, status_at, changed_at)
VALUES (?1, ?2, ?3, ?4, ?5)
