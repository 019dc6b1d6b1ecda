-- Delivery's memory of each order. {customers} is [state-store-delivery] table_customers. The
-- version lets an instance save only over the state it decided from, so two instances that
-- briefly hold the same order during a rebalance never both act on it.
CREATE TABLE IF NOT EXISTS {customers} (
    order_id TEXT PRIMARY KEY,
    customer_id TEXT,
    baked BOOLEAN NOT NULL DEFAULT FALSE,
    late BOOLEAN NOT NULL DEFAULT FALSE,
    claimed_until BIGINT,
    delivered BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS {customers}_by_update ON {customers} (updated_at);
