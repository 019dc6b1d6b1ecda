DELETE FROM {orders}_ended_sessions WHERE ended_at < $1
