-- Customers whose sessions were ended (they logged out): a cookie naming one is refused by every
-- web app sharing this store, even though the cookie itself is still well sealed.
CREATE TABLE IF NOT EXISTS {orders}_ended_sessions (
    customer_id TEXT PRIMARY KEY,
    ended_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS {orders}_ended_sessions_by_time ON {orders}_ended_sessions (ended_at);
