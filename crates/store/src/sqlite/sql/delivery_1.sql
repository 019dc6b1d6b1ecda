-- Delivery's memory of each order. {customers} is [state-store-delivery] table_customers.
CREATE TABLE IF NOT EXISTS {customers} (
    order_id TEXT PRIMARY KEY,
    customer_id TEXT,
    baked INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS {customers}_by_update ON {customers} (updated_at);
