//! The orders view in PostgreSQL, shared by every web app and status instance: one `impl` per
//! port, a batch's rows sent as arrays, and every change of the view announced on commit.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use tokio_postgres::Row;

use super::statements::OrderStatements;
use super::Pg;
use crate::fold::fold;
use crate::sql_text::table_name;
use crate::{
    hours_before, ChangeFeed, OrderRecord, Orders, Sessions, StateStore, StatusChange, StatusFold,
    StoreError, ViewChange, Watchdog, CHANGES_KEPT_MS,
};
use common::domain::events::{OrderDetails, Pizza, PizzaOrdered};
use common::domain::status::{StatusAt, StatusRules};
use common::settings::OrdersStoreSettings;

const MIGRATIONS: [&str; 3] = [
    include_str!("sql/orders_1.sql"),
    include_str!("sql/orders_2.sql"),
    include_str!("sql/orders_3.sql"),
];

pub(crate) struct PostgresOrderStore {
    pg: Pg,
    url: String,
    /// The channel `NOTIFY` says "the view changed" on.
    channel: String,
    sql: OrderStatements,
    rules: Arc<StatusRules>,
    retention_hours: (f64, f64),
}

impl PostgresOrderStore {
    pub(crate) async fn open(
        url: &str,
        settings: &OrdersStoreSettings,
    ) -> Result<Self, StoreError> {
        let orders = table_name(&settings.table_orders)?;
        let watch = table_name(&settings.table_status)?;
        let pg = Pg::connect(url)?;
        pg.migrate(
            &format!("orders:{orders}"),
            &MIGRATIONS,
            &[("orders", &orders), ("watch", &watch)],
        )
        .await?;
        Ok(Self {
            pg,
            url: url.to_owned(),
            channel: format!("pizza_view_{orders}"),
            sql: OrderStatements::new(&[("orders", &orders), ("watch", &watch)]),
            rules: Arc::new(settings.rules.clone()),
            retention_hours: (
                settings.table_orders_retention_hours,
                settings.table_status_retention_hours,
            ),
        })
    }
}

fn change(row: &Row) -> ViewChange {
    ViewChange {
        seq: row.get(0),
        order_id: row.get(1),
        customer_id: row.get(2),
        status: StatusAt {
            status: row.get(3),
            timestamp: row.get(4),
        },
    }
}

/// Writes the changes, and says so on `channel` when the transaction commits.
async fn announce(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &OrderStatements,
    channel: &str,
    changes: &[(&str, &str, StatusAt)],
    now_ms: i64,
) -> Result<(), tokio_postgres::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (order_id, customer_id, at) in changes {
        columns.0.push(*order_id);
        columns.1.push(*customer_id);
        columns.2.push(at.status);
        columns.3.push(at.timestamp);
    }
    tx.execute(
        &sql.insert_changes,
        &[&columns.0, &columns.1, &columns.2, &columns.3, &now_ms],
    )
    .await?;
    tx.execute(&sql.notify_change, &[&channel]).await?;
    Ok(())
}

fn record(row: &Row) -> OrderRecord {
    OrderRecord {
        order_id: row.get(0),
        timestamp: row.get(3),
        details: OrderDetails {
            customer_id: row.get(1),
            username: row.get(2),
            pizza: Pizza {
                sauce: row.get(4),
                cheese: row.get(5),
                main_topping: row.get(6),
                extra_toppings: row.get(7),
            },
        },
        status: StatusAt {
            status: row.get(8),
            timestamp: row.get(9),
        },
    }
}

#[async_trait]
impl StateStore for PostgresOrderStore {
    async fn purge_expired(&self, now_ms: i64) -> Result<usize, StoreError> {
        let orders_cutoff = hours_before(now_ms, self.retention_hours.0);
        let watch_cutoff = hours_before(now_ms, self.retention_hours.1);
        let mut client = self.pg.client().await?;
        let purged = async {
            let tx = client.transaction().await?;
            tx.execute(&self.sql.purge_orders_watch, &[&orders_cutoff])
                .await?;
            let purged = tx
                .execute(&self.sql.purge_orders, &[&orders_cutoff])
                .await?;
            tx.execute(&self.sql.purge_watch, &[&watch_cutoff]).await?;
            tx.execute(&self.sql.purge_changes, &[&(now_ms - CHANGES_KEPT_MS)])
                .await?;
            tx.execute(
                &self.sql.purge_sessions_ended,
                &[&(now_ms - crate::SESSIONS_ENDED_KEPT_MS)],
            )
            .await?;
            tx.commit().await?;
            Ok(purged)
        }
        .await
        .map_err(|e| self.pg.error(e))?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }
}

#[async_trait]
impl Orders for PostgresOrderStore {
    async fn add_order(
        &self,
        order_id: &str,
        placed: &PizzaOrdered,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let order = &placed.order;
        let mut client = self.pg.client().await?;
        let inserted = async {
            let insert_order = client.prepare_cached(&self.sql.insert_order).await?;
            let insert_watch = client.prepare_cached(&self.sql.insert_watch).await?;
            let tx = client.transaction().await?;
            let inserted = tx
                .execute(
                    &insert_order,
                    &[
                        &order_id,
                        &order.customer_id,
                        &order.username,
                        &placed.timestamp,
                        &order.pizza.sauce,
                        &order.pizza.cheese,
                        &order.pizza.main_topping,
                        &order.pizza.extra_toppings,
                        &placed.status,
                    ],
                )
                .await?;
            if inserted == 1 {
                tx.execute(&insert_watch, &[&order_id, &placed.status, &now_ms])
                    .await?;
                tx.commit().await?;
            }
            Ok(inserted == 1)
        }
        .await
        .map_err(|e| self.pg.error(e))?;
        if inserted {
            Ok(())
        } else {
            Err(StoreError::DuplicateOrder(order_id.to_owned()))
        }
    }

    async fn delete_order(&self, order_id: &str) -> Result<(), StoreError> {
        let mut client = self.pg.client().await?;
        async {
            let tx = client.transaction().await?;
            tx.execute(&self.sql.delete_watch, &[&order_id]).await?;
            tx.execute(&self.sql.delete_order, &[&order_id]).await?;
            tx.commit().await
        }
        .await
        .map_err(|e| self.pg.error(e))
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        let client = self.pg.client().await?;
        async {
            let statement = client.prepare_cached(&self.sql.select_order).await?;
            let row = client.query_opt(&statement, &[&order_id]).await?;
            Ok(row.as_ref().map(record))
        }
        .await
        .map_err(|e| self.pg.error(e))
    }

    async fn customer_orders(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.pg.client().await?;
        async {
            let statement = client
                .prepare_cached(&self.sql.select_customer_orders)
                .await?;
            let rows = client.query(&statement, &[&customer_id, &limit]).await?;
            Ok(rows.iter().map(record).collect())
        }
        .await
        .map_err(|e| self.pg.error(e))
    }
}

#[async_trait]
impl StatusFold for PostgresOrderStore {
    async fn update_statuses(
        &self,
        updates: Vec<(String, StatusAt)>,
        now_ms: i64,
    ) -> Result<Vec<StatusChange>, StoreError> {
        let mut ids: Vec<&str> = updates.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut client = self.pg.client().await?;
        async {
            let tx = client.transaction().await?;
            let rows = tx.query(&self.sql.lock_statuses, &[&ids]).await?;
            let mut customers: HashMap<String, String> = HashMap::new();
            let current: HashMap<String, StatusAt> = rows
                .iter()
                .map(|row| {
                    let at = StatusAt {
                        status: row.get(1),
                        timestamp: row.get(2),
                    };
                    customers.insert(row.get(0), row.get(3));
                    (row.get(0), at)
                })
                .collect();
            let folded = fold(current, &updates, &self.rules);
            let changes: Vec<(&str, &str, StatusAt)> = folded
                .statuses
                .iter()
                .map(|(id, at)| {
                    let customer = customers.get(id).map_or("", String::as_str);
                    (id.as_str(), customer, *at)
                })
                .collect();
            if !folded.statuses.is_empty() {
                let mut columns = (Vec::new(), Vec::new(), Vec::new());
                for (id, at) in &folded.statuses {
                    columns.0.push(id.as_str());
                    columns.1.push(at.status);
                    columns.2.push(at.timestamp);
                }
                tx.execute(
                    &self.sql.update_statuses,
                    &[&columns.0, &columns.1, &columns.2],
                )
                .await?;
            }
            if !folded.watch.is_empty() {
                let (ids, statuses): (Vec<&str>, Vec<i64>) =
                    folded.watch.iter().map(|(id, s)| (id.as_str(), *s)).unzip();
                tx.execute(&self.sql.upsert_watches, &[&ids, &statuses, &now_ms])
                    .await?;
            }
            if !folded.unwatch.is_empty() {
                tx.execute(&self.sql.delete_watches, &[&folded.unwatch])
                    .await?;
            }
            announce(&tx, &self.sql, &self.channel, &changes, now_ms).await?;
            tx.commit().await?;
            Ok(folded.changes)
        }
        .await
        .map_err(|e| self.pg.error(e))
    }
}

#[async_trait]
impl Watchdog for PostgresOrderStore {
    async fn flag_stuck(&self, cutoff_ms: i64, stuck: i64) -> Result<Vec<String>, StoreError> {
        let mut client = self.pg.client().await?;
        async {
            let tx = client.transaction().await?;
            let rows = tx
                .query(&self.sql.flag_watches, &[&cutoff_ms, &stuck])
                .await?;
            let mut ids: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
            ids.sort_unstable();
            if !ids.is_empty() {
                let flagged = tx.query(&self.sql.flag_orders, &[&ids, &stuck]).await?;
                let flagged: Vec<(String, String, StatusAt)> = flagged
                    .iter()
                    .map(|row| {
                        let at = StatusAt {
                            status: stuck,
                            timestamp: row.get(2),
                        };
                        (row.get(0), row.get(1), at)
                    })
                    .collect();
                let changes: Vec<(&str, &str, StatusAt)> = flagged
                    .iter()
                    .map(|(id, customer, at)| (id.as_str(), customer.as_str(), *at))
                    .collect();
                let now_ms = common::domain::events::now_ms();
                announce(&tx, &self.sql, &self.channel, &changes, now_ms).await?;
            }
            tx.commit().await?;
            Ok(ids)
        }
        .await
        .map_err(|e| self.pg.error(e))
    }

    async fn count_stuck(&self, stuck: i64) -> Result<u64, StoreError> {
        let client = self.pg.client().await?;
        client
            .query_one(&self.sql.count_stuck, &[&stuck])
            .await
            .map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or_default())
            .map_err(|e| self.pg.error(e))
    }
}

#[async_trait]
impl ChangeFeed for PostgresOrderStore {
    async fn changes_after(&self, seq: i64, limit: usize) -> Result<Vec<ViewChange>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.pg.client().await?;
        async {
            let statement = client.prepare_cached(&self.sql.select_changes).await?;
            let rows = client.query(&statement, &[&seq, &limit]).await?;
            Ok(rows.iter().map(change).collect())
        }
        .await
        .map_err(|e| self.pg.error(e))
    }

    async fn order_changes_after(
        &self,
        order_id: &str,
        seq: i64,
    ) -> Result<Vec<ViewChange>, StoreError> {
        let client = self.pg.client().await?;
        async {
            let statement = client
                .prepare_cached(&self.sql.select_order_changes)
                .await?;
            let rows = client.query(&statement, &[&order_id, &seq]).await?;
            Ok(rows.iter().map(change).collect())
        }
        .await
        .map_err(|e| self.pg.error(e))
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        let client = self.pg.client().await?;
        client
            .query_one(&self.sql.select_last_change, &[])
            .await
            .map(|row| row.get(0))
            .map_err(|e| self.pg.error(e))
    }

    async fn watch_changes(&self) -> Result<watch::Receiver<u64>, StoreError> {
        Ok(super::listen::listen(&self.url, &self.channel))
    }
}

#[async_trait]
impl Sessions for PostgresOrderStore {
    async fn end_sessions(&self, customer_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let client = self.pg.client().await?;
        client
            .execute(&self.sql.end_sessions, &[&customer_id, &now_ms])
            .await
            .map(|_| ())
            .map_err(|e| self.pg.error(e))
    }

    async fn sessions_ended(&self, customer_id: &str) -> Result<bool, StoreError> {
        let client = self.pg.client().await?;
        async {
            let statement = client
                .prepare_cached(&self.sql.select_sessions_ended)
                .await?;
            let row = client.query_opt(&statement, &[&customer_id]).await?;
            Ok(row.is_some())
        }
        .await
        .map_err(|e| self.pg.error(e))
    }
}
