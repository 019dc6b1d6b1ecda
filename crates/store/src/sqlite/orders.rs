//! The orders view in SQLite, shared by the web app (writes new orders, reads) and the status
//! service (folds status events, runs the watchdog), one `impl` per port.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use tokio::sync::watch;

use super::migrations::migrate;
use super::statements::OrderStatements;
use super::{CachedStatements, Db};
use crate::fold::fold;
use crate::sql_text::table_name;
use crate::{
    hours_before, ChangeFeed, OrderRecord, Orders, Sessions, StateStore, StatusChange, StatusFold,
    StoreError, ViewChange, Watchdog, CHANGES_KEPT_MS,
};
use common::domain::events::{OrderDetails, Pizza, PizzaOrdered};
use common::domain::status::{StatusAt, StatusRules};
use common::settings::OrdersStoreSettings;

pub(super) const MIGRATIONS: [&str; 3] = [
    include_str!("sql/orders_1.sql"),
    include_str!("sql/orders_2.sql"),
    include_str!("sql/orders_3.sql"),
];

pub(crate) struct SqliteOrderStore {
    path: PathBuf,
    db: Arc<Db>,
    sql: Arc<OrderStatements>,
    rules: Arc<StatusRules>,
    retention_hours: (f64, f64),
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
            sql: Arc::new(OrderStatements::new(&[
                ("orders", &orders),
                ("watch", &watch),
            ])),
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
impl Orders for SqliteOrderStore {
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
}

#[async_trait]
impl StatusFold for SqliteOrderStore {
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
}

#[async_trait]
impl Watchdog for SqliteOrderStore {
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

    async fn count_stuck(&self, stuck: i64) -> Result<u64, StoreError> {
        let sql = self.sql.clone();
        self.db
            .call(move |conn| conn.row(&sql.count_stuck, [stuck], |row| row.get(0)))
            .await
    }
}

#[async_trait]
impl ChangeFeed for SqliteOrderStore {
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

    async fn last_change(&self) -> Result<i64, StoreError> {
        let sql = self.sql.clone();
        self.db
            .call(move |conn| conn.row(&sql.select_last_change, [], |row| row.get(0)))
            .await
    }

    async fn watch_changes(&self) -> Result<watch::Receiver<u64>, StoreError> {
        super::change_watch::watch(&self.path)
    }
}

#[async_trait]
impl Sessions for SqliteOrderStore {
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
