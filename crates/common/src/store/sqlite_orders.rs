//! The orders view in SQLite, shared by the web app (writes new orders, reads) and the status
//! service (folds status events, runs the watchdog).

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use super::sqlite::{table_name, CachedStatements, Db};
use super::{NewOrder, OrderRecord, OrderStore, StateStore, StatusChange, StatusRules, StoreError};
use crate::settings::OrdersStoreSettings;
use crate::status::{supersedes, StatusAt};

pub struct SqliteOrderStore {
    db: Db,
    orders: String,
    watch: String,
    rules: StatusRules,
}

impl SqliteOrderStore {
    pub fn open(settings: &OrdersStoreSettings, rules: StatusRules) -> Result<Self, StoreError> {
        let store = Self {
            db: Db::open(&settings.name)?,
            orders: table_name(&settings.table_orders)?,
            watch: table_name(&settings.table_status)?,
            rules,
        };
        store.create_tables()?;
        Ok(store)
    }

    /// Folds one status event into the view inside the caller's transaction.
    fn apply_status(
        &self,
        tx: &rusqlite::Connection,
        order_id: &str,
        incoming: StatusAt,
        now_ms: i64,
    ) -> rusqlite::Result<StatusChange> {
        let current = tx
            .row(
                &format!(
                    "SELECT status, status_at FROM {} WHERE order_id = ?1",
                    self.orders
                ),
                [order_id],
                |row| {
                    Ok(StatusAt {
                        status: row.get(0)?,
                        timestamp: row.get(1)?,
                    })
                },
            )
            .optional()?;
        let Some(current) = current else {
            return Ok(StatusChange::UnknownOrder);
        };
        if !supersedes(incoming, current, &self.rules.completed) {
            return Ok(StatusChange::Ignored {
                current: current.status,
            });
        }
        tx.run(
            &format!(
                "UPDATE {} SET status = ?2, status_at = ?3 WHERE order_id = ?1",
                self.orders
            ),
            params![order_id, incoming.status, incoming.timestamp],
        )?;
        let finished = self.rules.completed.contains(&incoming.status)
            || self.rules.unwatched.contains(&incoming.status);
        if finished {
            tx.run(
                &format!("DELETE FROM {} WHERE order_id = ?1", self.watch),
                [order_id],
            )?;
        } else {
            upsert_watch(tx, &self.watch, order_id, incoming.status, now_ms)?;
        }
        Ok(StatusChange::Updated {
            previous: current.status,
        })
    }

    fn select(&self) -> String {
        format!(
            "SELECT order_id, customer_id, username, timestamp, sauce, cheese, main_topping, \
             extra_toppings, status, status_at FROM {}",
            self.orders
        )
    }
}

fn record(row: &Row<'_>) -> rusqlite::Result<OrderRecord> {
    let extras: String = row.get(7)?;
    Ok(OrderRecord {
        order_id: row.get(0)?,
        customer_id: row.get(1)?,
        username: row.get(2)?,
        timestamp: row.get(3)?,
        sauce: row.get(4)?,
        cheese: row.get(5)?,
        main_topping: row.get(6)?,
        extra_toppings: serde_json::from_str(&extras).unwrap_or_default(),
        status: row.get(8)?,
        status_at: row.get(9)?,
    })
}

impl StateStore for SqliteOrderStore {
    fn create_tables(&self) -> Result<(), StoreError> {
        let (orders, watch) = (&self.orders, &self.watch);
        self.db
            .lock()
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {orders} (
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
                CREATE INDEX IF NOT EXISTS {watch}_by_update ON {watch} (updated_at);"
            ))
            .map_err(|e| self.db.err(e))
    }

    fn purge_older_than(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(|e| self.db.err(e))?;
        tx.run(
            &format!(
                "DELETE FROM {} WHERE order_id IN (SELECT order_id FROM {} WHERE timestamp < ?1)",
                self.watch, self.orders
            ),
            [cutoff_ms],
        )
        .map_err(|e| self.db.err(e))?;
        let purged = tx
            .run(
                &format!("DELETE FROM {} WHERE timestamp < ?1", self.orders),
                [cutoff_ms],
            )
            .map_err(|e| self.db.err(e))?;
        tx.commit().map_err(|e| self.db.err(e))?;
        Ok(purged)
    }
}

impl OrderStore for SqliteOrderStore {
    fn add_order(&self, order: &NewOrder, now_ms: i64) -> Result<(), StoreError> {
        let extras = serde_json::to_string(&order.extra_toppings).unwrap_or_else(|_| "[]".into());
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(|e| self.db.err(e))?;
        let inserted = tx
            .run(
                &format!(
                    "INSERT OR IGNORE INTO {} (order_id, customer_id, username, timestamp, sauce, \
                     cheese, main_topping, extra_toppings, status, status_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?4)",
                    self.orders
                ),
                params![
                    order.order_id,
                    order.customer_id,
                    order.username,
                    order.timestamp,
                    order.sauce,
                    order.cheese,
                    order.main_topping,
                    extras,
                    order.status
                ],
            )
            .map_err(|e| self.db.err(e))?;
        if inserted == 0 {
            return Err(StoreError::DuplicateOrder(order.order_id.clone()));
        }
        upsert_watch(&tx, &self.watch, &order.order_id, order.status, now_ms)
            .map_err(|e| self.db.err(e))?;
        tx.commit().map_err(|e| self.db.err(e))
    }

    fn delete_order(&self, order_id: &str) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(|e| self.db.err(e))?;
        for table in [&self.watch, &self.orders] {
            tx.run(
                &format!("DELETE FROM {table} WHERE order_id = ?1"),
                [order_id],
            )
            .map_err(|e| self.db.err(e))?;
        }
        tx.commit().map_err(|e| self.db.err(e))
    }

    fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        let conn = self.db.lock();
        let mut statement = conn
            .prepare_cached(&format!("{} WHERE order_id = ?1", self.select()))
            .map_err(|e| self.db.err(e))?;
        statement
            .query_row([order_id], record)
            .optional()
            .map_err(|e| self.db.err(e))
    }

    fn customer_orders(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let conn = self.db.lock();
        let mut statement = conn
            .prepare_cached(&format!(
                "{} WHERE customer_id = ?1 ORDER BY timestamp DESC, order_id LIMIT ?2",
                self.select()
            ))
            .map_err(|e| self.db.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(params![customer_id, limit], record)
            .map_err(|e| self.db.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.db.err(e))
    }

    fn update_order_status(
        &self,
        order_id: &str,
        incoming: StatusAt,
        now_ms: i64,
    ) -> Result<StatusChange, StoreError> {
        let update = [(order_id.to_owned(), incoming)];
        let changes = self.update_order_statuses(&update, now_ms)?;
        Ok(changes
            .into_iter()
            .next()
            .unwrap_or(StatusChange::UnknownOrder))
    }

    fn update_order_statuses(
        &self,
        updates: &[(String, StatusAt)],
        now_ms: i64,
    ) -> Result<Vec<StatusChange>, StoreError> {
        let mut conn = self.db.lock();
        // IMMEDIATE takes the write lock before reading, so two writers cannot both decide from
        // the same old status.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db.err(e))?;
        let changes = updates
            .iter()
            .map(|(order_id, incoming)| self.apply_status(&tx, order_id, *incoming, now_ms))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.db.err(e))?;
        tx.commit().map_err(|e| self.db.err(e))?;
        Ok(changes)
    }

    fn upsert_watched_status(
        &self,
        order_id: &str,
        status: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        upsert_watch(&self.db.lock(), &self.watch, order_id, status, now_ms)
            .map_err(|e| self.db.err(e))
    }

    fn delete_watched_status(&self, order_id: &str) -> Result<(), StoreError> {
        self.db
            .lock()
            .run(
                &format!("DELETE FROM {} WHERE order_id = ?1", self.watch),
                [order_id],
            )
            .map(|_| ())
            .map_err(|e| self.db.err(e))
    }

    fn flag_stuck(&self, cutoff_ms: i64, stuck: i64) -> Result<Vec<String>, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db.err(e))?;
        let ids: Vec<String> = {
            let mut statement = tx
                .prepare(&format!(
                    "SELECT order_id FROM {} WHERE updated_at < ?1 AND status != ?2",
                    self.watch
                ))
                .map_err(|e| self.db.err(e))?;
            let rows = statement
                .query_map(params![cutoff_ms, stuck], |row| row.get(0))
                .map_err(|e| self.db.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.db.err(e))?
        };
        for id in &ids {
            for table in [&self.orders, &self.watch] {
                tx.run(
                    &format!("UPDATE {table} SET status = ?2 WHERE order_id = ?1"),
                    params![id, stuck],
                )
                .map_err(|e| self.db.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.db.err(e))?;
        Ok(ids)
    }
}

fn upsert_watch(
    conn: &rusqlite::Connection,
    table: &str,
    order_id: &str,
    status: i64,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.run(
        &format!(
            "INSERT INTO {table} (order_id, status, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at"
        ),
        params![order_id, status, now_ms],
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn store(dir: &Path) -> SqliteOrderStore {
        let settings = OrdersStoreSettings {
            db_module_class: "sqlite".into(),
            name: dir.join("orders.db"),
            table_orders: "orders".into(),
            table_status: "status_watch".into(),
            table_orders_retention_hours: 24.0,
            status_watchdog_minutes: 0.25,
            status_invalid_timeout_minutes: 0.75,
            status_completed_when: vec![999, 499],
        };
        let rules = StatusRules {
            completed: vec![999, 499],
            unwatched: vec![430],
        };
        SqliteOrderStore::open(&settings, rules).expect("opens")
    }

    fn order(id: &str, customer: &str, timestamp: i64) -> NewOrder {
        NewOrder {
            order_id: id.into(),
            customer_id: customer.into(),
            username: "Ann".into(),
            timestamp,
            sauce: "Tomato".into(),
            cheese: "Mozzarella".into(),
            main_topping: "Ham".into(),
            extra_toppings: vec!["Basil".into(), "Rocket".into()],
            status: 100,
        }
    }

    fn at(status: i64, timestamp: i64) -> StatusAt {
        StatusAt { status, timestamp }
    }

    #[test]
    fn add_get_and_list_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        store.add_order(&order("a1", "c1", 10), 10).expect("add");
        store.add_order(&order("a2", "c1", 20), 20).expect("add");
        store.add_order(&order("b1", "c2", 30), 30).expect("add");
        let got = store.get_order("a1").expect("query").expect("present");
        assert_eq!(got.extra_toppings, ["Basil", "Rocket"]);
        assert_eq!(got.status, 100);
        let ids: Vec<_> = store
            .customer_orders("c1", 10)
            .expect("query")
            .into_iter()
            .map(|o| o.order_id)
            .collect();
        assert_eq!(ids, ["a2", "a1"]);
        assert!(matches!(
            store.add_order(&order("a1", "c1", 10), 10),
            Err(StoreError::DuplicateOrder(_))
        ));
        assert_eq!(store.get_order("zz").expect("query"), None);
    }

    #[test]
    fn folds_statuses_by_event_time_and_keeps_delivered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        store.add_order(&order("o", "c", 10), 10).expect("add");
        assert_eq!(
            store
                .update_order_status("o", at(300, 30), 31)
                .expect("update"),
            StatusChange::Updated { previous: 100 }
        );
        assert_eq!(
            store
                .update_order_status("o", at(200, 20), 32)
                .expect("update"),
            StatusChange::Ignored { current: 300 }
        );
        assert_eq!(
            store
                .update_order_status("o", at(999, 40), 41)
                .expect("update"),
            StatusChange::Updated { previous: 300 }
        );
        assert_eq!(
            store
                .update_order_status("o", at(300, 50), 51)
                .expect("update"),
            StatusChange::Ignored { current: 999 }
        );
        assert_eq!(
            store
                .update_order_status("nope", at(200, 20), 20)
                .expect("update"),
            StatusChange::UnknownOrder
        );
        assert_eq!(
            store.get_order("o").expect("query").map(|o| o.status),
            Some(999)
        );
        // Finished orders are no longer watched, so the watchdog never flags them.
        assert!(store.flag_stuck(i64::MAX, 50).expect("flag").is_empty());
    }

    #[test]
    fn a_batch_folds_its_events_in_order_in_one_transaction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        store.add_order(&order("o", "c", 10), 10).expect("add");
        store.add_order(&order("p", "c", 10), 10).expect("add");
        let batch = [
            ("o".to_owned(), at(200, 20)),
            ("nope".to_owned(), at(200, 20)),
            ("o".to_owned(), at(300, 30)),
            ("p".to_owned(), at(999, 40)),
            ("o".to_owned(), at(200, 21)),
        ];
        let changes = store.update_order_statuses(&batch, 50).expect("batch");
        assert_eq!(
            changes,
            [
                StatusChange::Updated { previous: 100 },
                StatusChange::UnknownOrder,
                StatusChange::Updated { previous: 200 },
                StatusChange::Updated { previous: 100 },
                StatusChange::Ignored { current: 300 },
            ]
        );
        let status = |id: &str| store.get_order(id).expect("query").map(|o| o.status);
        assert_eq!((status("o"), status("p")), (Some(300), Some(999)));
    }

    #[test]
    fn watchdog_flags_only_orders_without_progress_and_progress_clears_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        store
            .add_order(&order("slow", "c", 10), 1_000)
            .expect("add");
        store
            .add_order(&order("busy", "c", 10), 1_000)
            .expect("add");
        store
            .update_order_status("busy", at(200, 20), 5_000)
            .expect("update");
        assert_eq!(store.flag_stuck(2_000, 50).expect("flag"), ["slow"]);
        assert_eq!(
            store.get_order("slow").expect("q").map(|o| o.status),
            Some(50)
        );
        // Flagged once, not again on every round.
        assert!(store.flag_stuck(2_000, 50).expect("flag").is_empty());
        assert_eq!(
            store
                .update_order_status("slow", at(200, 25), 6_000)
                .expect("update"),
            StatusChange::Updated { previous: 50 }
        );
        assert_eq!(
            store.get_order("slow").expect("q").map(|o| o.status),
            Some(200)
        );
    }

    #[test]
    fn watched_statuses_can_be_set_and_dropped_by_hand() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        store.add_order(&order("w", "c", 10), 10).expect("add");
        store
            .upsert_watched_status("w", 200, 5_000)
            .expect("upsert");
        assert!(
            store.flag_stuck(4_000, 50).expect("flag").is_empty(),
            "refreshed at 5000"
        );
        store.delete_watched_status("w").expect("delete");
        assert!(
            store.flag_stuck(i64::MAX, 50).expect("flag").is_empty(),
            "no longer watched"
        );
    }

    #[test]
    fn delete_and_purge_remove_orders_and_their_watch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        store.add_order(&order("old", "c", 10), 10).expect("add");
        store.add_order(&order("gone", "c", 15), 15).expect("add");
        store.add_order(&order("new", "c", 100), 100).expect("add");
        store.delete_order("gone").expect("delete");
        assert_eq!(store.purge_older_than(50).expect("purge"), 1);
        assert_eq!(store.get_order("old").expect("q"), None);
        assert_eq!(store.flag_stuck(i64::MAX, 50).expect("flag"), ["new"]);
    }
}
