-- The orders view and the orders the watchdog watches. {orders} and {watch} are the table names
-- of [state-store-orders] (table_orders, table_status).
CREATE TABLE IF NOT EXISTS {orders} (
    order_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    username TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    sauce TEXT NOT NULL,
    cheese TEXT NOT NULL,
    main_topping TEXT NOT NULL,
    extra_toppings TEXT NOT NULL,
    status INTEGER NOT NULL,
    status_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS {orders}_by_customer ON {orders} (customer_id, timestamp DESC);
CREATE INDEX IF NOT EXISTS {orders}_by_time ON {orders} (timestamp);
CREATE TABLE IF NOT EXISTS {watch} (
    order_id TEXT PRIMARY KEY,
    status INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS {watch}_by_update ON {watch} (updated_at);
