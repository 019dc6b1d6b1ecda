-- The view's changes, in the order they were committed: the web apps read the ones after the last
-- they have seen and push them to the pages that follow those orders. Writers take the
-- `pizza_changes` advisory lock before adding rows, so a larger seq was always committed later.
CREATE TABLE IF NOT EXISTS {orders}_changes (
    seq BIGSERIAL PRIMARY KEY,
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    status BIGINT NOT NULL,
    status_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS {orders}_changes_by_order ON {orders}_changes (order_id, seq);
CREATE INDEX IF NOT EXISTS {orders}_changes_by_time ON {orders}_changes (changed_at);
