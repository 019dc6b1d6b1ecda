-- The view's changes, in the order they were committed: the web apps read the ones after the last
-- they have seen and push them to the pages that follow those orders. SQLite has one writer at a
-- time, so a larger seq was always committed later.
CREATE TABLE IF NOT EXISTS {orders}_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    status_at INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS {orders}_changes_by_order ON {orders}_changes (order_id, seq);
CREATE INDEX IF NOT EXISTS {orders}_changes_by_time ON {orders}_changes (changed_at);
