SELECT 1 FROM {orders}_ended_sessions WHERE customer_id = $1
