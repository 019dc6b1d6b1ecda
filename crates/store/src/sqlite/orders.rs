//! The orders view in SQLite, shared by the web app (writes new orders, reads) and the status
//! service (folds status events, runs the watchdog).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use tokio::sync::watch;

use super::migrations::migrate;
use super::{CachedStatements, Db};
use crate::fold::fold;
use crate::{
    hours_before, table_name, OrderRecord, OrderStore, StateStore, StatusChange, StoreError,
    ViewChange, CHANGES_KEPT_MS,
};
use common::domain::events::{OrderDetails, Pizza, PizzaOrdered};
use common::domain::status::{StatusAt, StatusRules};
use common::settings::OrdersStoreSettings;

const MIGRATIONS: [&str; 3] = [
    include_str!("sql/orders_1.sql"),
    include_str!("sql/orders_2.sql"),
    include_str!("sql/orders_3.sql"),
];

pub(crate) struct SqliteOrderStore {
    path: PathBuf,
    db: Arc<Db>,
    sql: Arc<Statements>,
    rules: Arc<StatusRules>,
    retention_hours: (f64, f64),
}

/// The statements, with the configured table names written in once.
struct Statements {
    insert_order: String,
    delete_order: String,
    select_order: String,
    select_customer_orders: String,
    select_status: String,
    insert_change: String,
    select_changes: String,
    select_order_changes: String,
    select_last_change: String,
    purge_changes: String,
    update_status: String,
    upsert_watch: String,
    delete_watch: String,
    select_stuck: String,
    count_stuck: String,
    flag_order: String,
    flag_watch: String,
    purge_orders_watch: String,
    purge_orders: String,
    purge_watch: String,
    end_sessions: String,
    select_sessions_ended: String,
    purge_sessions_ended: String,
}

impl Statements {
    fn new(orders: &str, watch: &str) -> Self {
        let select = format!(
            "SELECT order_id, customer_id, username, timestamp, sauce, cheese, main_topping, \
             extra_toppings, status, status_at FROM {orders}"
        );
        Self {
            insert_order: format!(
                "INSERT OR IGNORE INTO {orders} (order_id, customer_id, username, timestamp, \
                 sauce, cheese, main_topping, extra_toppings, status, status_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?4)"
            ),
            delete_order: format!("DELETE FROM {orders} WHERE order_id = ?1"),
            select_order: format!("{select} WHERE order_id = ?1"),
            select_customer_orders: format!(
                "{select} WHERE customer_id = ?1 ORDER BY timestamp DESC, order_id LIMIT ?2"
            ),
            select_status: format!(
                "SELECT status, status_at, customer_id FROM {orders} WHERE order_id = ?1"
            ),
            insert_change: format!(
                "INSERT INTO {orders}_changes (order_id, customer_id, status, status_at, changed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)"
            ),
            select_changes: format!(
                "SELECT seq, order_id, customer_id, status, status_at FROM {orders}_changes \
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ),
            select_order_changes: format!(
                "SELECT seq, order_id, customer_id, status, status_at FROM {orders}_changes \
                 WHERE order_id = ?1 AND seq > ?2 ORDER BY seq"
            ),
            select_last_change: format!("SELECT COALESCE(MAX(seq), 0) FROM {orders}_changes"),
            purge_changes: format!("DELETE FROM {orders}_changes WHERE changed_at < ?1"),
            update_status: format!(
                "UPDATE {orders} SET status = ?2, status_at = ?3 WHERE order_id = ?1"
            ),
            upsert_watch: format!(
                "INSERT INTO {watch} (order_id, status, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, \
                 updated_at = excluded.updated_at"
            ),
            delete_watch: format!("DELETE FROM {watch} WHERE order_id = ?1"),
            select_stuck: format!(
                "SELECT order_id FROM {watch} WHERE updated_at < ?1 AND status != ?2"
            ),
            count_stuck: format!("SELECT COUNT(*) FROM {watch} WHERE status = ?1"),
            flag_order: format!(
                "UPDATE {orders} SET status = ?2 WHERE order_id = ?1 RETURNING customer_id, status_at"
            ),
            flag_watch: format!("UPDATE {watch} SET status = ?2 WHERE order_id = ?1"),
            purge_orders_watch: format!(
                "DELETE FROM {watch} WHERE order_id IN \
                 (SELECT order_id FROM {orders} WHERE timestamp < ?1)"
            ),
            purge_orders: format!("DELETE FROM {orders} WHERE timestamp < ?1"),
            purge_watch: format!("DELETE FROM {watch} WHERE updated_at < ?1"),
            end_sessions: format!(
                "INSERT INTO {orders}_ended_sessions (customer_id, ended_at) VALUES (?1, ?2) \
                 ON CONFLICT (customer_id) DO NOTHING"
            ),
            select_sessions_ended: format!(
                "SELECT 1 FROM {orders}_ended_sessions WHERE customer_id = ?1"
            ),
            purge_sessions_ended: format!(
                "DELETE FROM {orders}_ended_sessions WHERE ended_at < ?1"
            ),
        }
    }
}

impl SqliteOrderStore {
    pub(crate) async fn open(
        path: &Path,
        settings: &OrdersStoreSettings,
    ) -> Result<Self, StoreError> {
        let orders = table_name(&settings.table_orders)?;
        let watch = table_name(&settings.table_status)?;
        let db = Db::open(path)?;
        let tables = [("orders", orders.clone()), ("watch", watch.clone())];
        db.call(move |conn| {
            let tables: Vec<(&str, &str)> = tables.iter().map(|(k, v)| (*k, v.as_str())).collect();
            migrate(
                conn,
                &format!("orders:{}", tables[0].1),
                &MIGRATIONS,
                &tables,
            )
        })
        .await?;
        Ok(Self {
            path: path.to_path_buf(),
            db,
            sql: Arc::new(Statements::new(&orders, &watch)),
            rules: Arc::new(settings.rules.clone()),
            retention_hours: (
                settings.table_orders_retention_hours,
                settings.table_status_retention_hours,
            ),
        })
    }
}

fn change(row: &Row<'_>) -> rusqlite::Result<ViewChange> {
    Ok(ViewChange {
        seq: row.get(0)?,
        order_id: row.get(1)?,
        customer_id: row.get(2)?,
        status: StatusAt {
            status: row.get(3)?,
            timestamp: row.get(4)?,
        },
    })
}

fn record(row: &Row<'_>) -> rusqlite::Result<OrderRecord> {
    let extras: String = row.get(7)?;
    Ok(OrderRecord {
        order_id: row.get(0)?,
        timestamp: row.get(3)?,
        details: OrderDetails {
            customer_id: row.get(1)?,
            username: row.get(2)?,
            pizza: Pizza {
                sauce: row.get(4)?,
                cheese: row.get(5)?,
                main_topping: row.get(6)?,
                extra_toppings: serde_json::from_str(&extras).unwrap_or_default(),
            },
        },
        status: StatusAt {
            status: row.get(8)?,
            timestamp: row.get(9)?,
        },
    })
}

#[async_trait]
impl StateStore for SqliteOrderStore {
    async fn purge_expired(&self, now_ms: i64) -> Result<usize, StoreError> {
        let orders_cutoff = hours_before(now_ms, self.retention_hours.0);
        let watch_cutoff = hours_before(now_ms, self.retention_hours.1);
        let sql = self.sql.clone();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                tx.run(&sql.purge_orders_watch, [orders_cutoff])?;
                let purged = tx.run(&sql.purge_orders, [orders_cutoff])?;
                tx.run(&sql.purge_watch, [watch_cutoff])?;
                tx.run(&sql.purge_changes, [now_ms - CHANGES_KEPT_MS])?;
                tx.run(
                    &sql.purge_sessions_ended,
                    [now_ms - crate::SESSIONS_ENDED_KEPT_MS],
                )?;
                tx.commit()?;
                Ok(purged)
            })
            .await
    }
}

#[async_trait]
impl OrderStore for SqliteOrderStore {
    async fn add_order(
        &self,
        order_id: &str,
        placed: &PizzaOrdered,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (sql, id, placed) = (self.sql.clone(), order_id.to_owned(), placed.clone());
        let inserted = self
            .db
            .write(move |tx| {
                let order = &placed.order;
                let extras = serde_json::to_string(&order.pizza.extra_toppings)
                    .unwrap_or_else(|_| "[]".into());
                let inserted = tx.run(
                    &sql.insert_order,
                    params![
                        id,
                        order.customer_id,
                        order.username,
                        placed.timestamp,
                        order.pizza.sauce,
                        order.pizza.cheese,
                        order.pizza.main_topping,
                        extras,
                        placed.status
                    ],
                )?;
                if inserted == 0 {
                    return Ok(false);
                }
                tx.run(&sql.upsert_watch, params![id, placed.status, now_ms])?;
                Ok(true)
            })
            .await?;
        if inserted {
            Ok(())
        } else {
            Err(StoreError::DuplicateOrder(order_id.to_owned()))
        }
    }

    async fn delete_order(&self, order_id: &str) -> Result<(), StoreError> {
        let (sql, id) = (self.sql.clone(), order_id.to_owned());
        self.db
            .write(move |tx| {
                tx.run(&sql.delete_watch, [&id])?;
                tx.run(&sql.delete_order, [&id])?;
                Ok(())
            })
            .await
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        let (sql, id) = (self.sql.clone(), order_id.to_owned());
        self.db
            .call(move |conn| conn.row(&sql.select_order, [id], record).optional())
            .await
    }

    async fn customer_orders(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let (sql, id) = (self.sql.clone(), customer_id.to_owned());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call(move |conn| {
                let mut statement = conn.prepare_cached(&sql.select_customer_orders)?;
                let rows = statement.query_map(params![id, limit], record)?;
                rows.collect()
            })
            .await
    }

    async fn update_statuses(
        &self,
        updates: Vec<(String, StatusAt)>,
        now_ms: i64,
    ) -> Result<Vec<StatusChange>, StoreError> {
        let (sql, rules) = (self.sql.clone(), self.rules.clone());
        self.db
            .call(move |conn| {
                // IMMEDIATE takes the write lock before reading, so two writers cannot both
                // decide from the same old status.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut current = HashMap::new();
                let mut customers = HashMap::new();
                for (order_id, _) in &updates {
                    if current.contains_key(order_id) {
                        continue;
                    }
                    let shown = tx
                        .row(&sql.select_status, [order_id], |row| {
                            let at = StatusAt {
                                status: row.get(0)?,
                                timestamp: row.get(1)?,
                            };
                            Ok((at, row.get::<_, String>(2)?))
                        })
                        .optional()?;
                    if let Some((shown, customer_id)) = shown {
                        current.insert(order_id.clone(), shown);
                        customers.insert(order_id.clone(), customer_id);
                    }
                }
                let folded = fold(current, &updates, &rules);
                for (order_id, now) in &folded.statuses {
                    tx.run(
                        &sql.update_status,
                        params![order_id, now.status, now.timestamp],
                    )?;
                    let customer_id = customers.get(order_id).map_or("", String::as_str);
                    tx.run(
                        &sql.insert_change,
                        params![order_id, customer_id, now.status, now.timestamp, now_ms],
                    )?;
                }
                for (order_id, status) in &folded.watch {
                    tx.run(&sql.upsert_watch, params![order_id, status, now_ms])?;
                }
                for order_id in &folded.unwatch {
                    tx.run(&sql.delete_watch, [order_id])?;
                }
                tx.commit()?;
                Ok(folded.changes)
            })
            .await
    }

    async fn flag_stuck(&self, cutoff_ms: i64, stuck: i64) -> Result<Vec<String>, StoreError> {
        let sql = self.sql.clone();
        let now_ms = common::domain::events::now_ms();
        self.db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let ids: Vec<String> = {
                    let mut statement = tx.prepare_cached(&sql.select_stuck)?;
                    let rows = statement.query_map(params![cutoff_ms, stuck], |row| row.get(0))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                for id in &ids {
                    let flagged = tx
                        .row(&sql.flag_order, params![id, stuck], |row| {
                            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                        })
                        .optional()?;
                    tx.run(&sql.flag_watch, params![id, stuck])?;
                    if let Some((customer_id, status_at)) = flagged {
                        tx.run(
                            &sql.insert_change,
                            params![id, customer_id, stuck, status_at, now_ms],
                        )?;
                    }
                }
                tx.commit()?;
                Ok(ids)
            })
            .await
    }

    async fn changes_after(&self, seq: i64, limit: usize) -> Result<Vec<ViewChange>, StoreError> {
        let sql = self.sql.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call(move |conn| {
                let mut statement = conn.prepare_cached(&sql.select_changes)?;
                let rows = statement.query_map(params![seq, limit], change)?;
                rows.collect()
            })
            .await
    }

    async fn order_changes_after(
        &self,
        order_id: &str,
        seq: i64,
    ) -> Result<Vec<ViewChange>, StoreError> {
        let (sql, id) = (self.sql.clone(), order_id.to_owned());
        self.db
            .call(move |conn| {
                let mut statement = conn.prepare_cached(&sql.select_order_changes)?;
                let rows = statement.query_map(params![id, seq], change)?;
                rows.collect()
            })
            .await
    }

    async fn count_stuck(&self, stuck: i64) -> Result<u64, StoreError> {
        let sql = self.sql.clone();
        self.db
            .call(move |conn| conn.row(&sql.count_stuck, [stuck], |row| row.get(0)))
            .await
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        let sql = self.sql.clone();
        self.db
            .call(move |conn| conn.row(&sql.select_last_change, [], |row| row.get(0)))
            .await
    }

    async fn watch_changes(&self) -> Result<watch::Receiver<u64>, StoreError> {
        super::change_watch::watch(&self.path)
    }

    async fn end_sessions(&self, customer_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let (sql, id) = (self.sql.clone(), customer_id.to_owned());
        self.db
            .write(move |tx| tx.run(&sql.end_sessions, params![id, now_ms]).map(|_| ()))
            .await
    }

    async fn sessions_ended(&self, customer_id: &str) -> Result<bool, StoreError> {
        let (sql, id) = (self.sql.clone(), customer_id.to_owned());
        self.db
            .call(move |conn| {
                conn.row(&sql.select_sessions_ended, [id], |_| Ok(()))
                    .optional()
                    .map(|found| found.is_some())
            })
            .await
    }
}
