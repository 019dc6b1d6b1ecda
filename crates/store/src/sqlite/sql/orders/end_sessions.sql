INSERT INTO {orders}_ended_sessions (customer_id, ended_at)
VALUES (?1, ?2)
ON CONFLICT (customer_id) DO NOTHING
