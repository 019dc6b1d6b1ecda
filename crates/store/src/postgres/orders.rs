//! The orders view in PostgreSQL, shared by every web app and status instance.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use tokio_postgres::Row;

use super::Pg;
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

pub(crate) struct PostgresOrderStore {
    pg: Pg,
    url: String,
    /// The channel `NOTIFY` says "the view changed" on.
    channel: String,
    sql: Statements,
    rules: Arc<StatusRules>,
    retention_hours: (f64, f64),
}

struct Statements {
    insert_order: String,
    insert_watch: String,
    delete_order: String,
    delete_watch: String,
    select_order: String,
    select_customer_orders: String,
    lock_statuses: String,
    update_statuses: String,
    upsert_watches: String,
    delete_watches: String,
    flag_watches: String,
    count_stuck: String,
    flag_orders: String,
    purge_orders_watch: String,
    purge_orders: String,
    purge_watch: String,
    insert_changes: String,
    select_changes: String,
    select_order_changes: String,
    select_last_change: String,
    purge_changes: String,
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
                "INSERT INTO {orders} (order_id, customer_id, username, timestamp, sauce, cheese, \
                 main_topping, extra_toppings, status, status_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $4) ON CONFLICT (order_id) DO NOTHING"
            ),
            insert_watch: format!(
                "INSERT INTO {watch} (order_id, status, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, \
                 updated_at = excluded.updated_at"
            ),
            delete_order: format!("DELETE FROM {orders} WHERE order_id = $1"),
            delete_watch: format!("DELETE FROM {watch} WHERE order_id = $1"),
            select_order: format!("{select} WHERE order_id = $1"),
            select_customer_orders: format!(
                "{select} WHERE customer_id = $1 ORDER BY timestamp DESC, order_id LIMIT $2"
            ),
            // In one order, so two writers folding overlapping batches cannot deadlock.
            lock_statuses: format!(
                "SELECT order_id, status, status_at, customer_id FROM {orders} \
                 WHERE order_id = ANY($1) ORDER BY order_id FOR UPDATE"
            ),
            // The lock makes writers of changes take turns until they commit, so the order of
            // `seq` is the order of commits and a reader never skips a change committed late.
            insert_changes: format!(
                "WITH turn AS (SELECT pg_advisory_xact_lock(hashtext('pizza_changes'))) \
                 INSERT INTO {orders}_changes (order_id, customer_id, status, status_at, changed_at) \
                 SELECT u.order_id, u.customer_id, u.status, u.status_at, $5 FROM turn, \
                 UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[]) \
                 AS u(order_id, customer_id, status, status_at)"
            ),
            select_changes: format!(
                "SELECT seq, order_id, customer_id, status, status_at FROM {orders}_changes \
                 WHERE seq > $1 ORDER BY seq LIMIT $2"
            ),
            select_order_changes: format!(
                "SELECT seq, order_id, customer_id, status, status_at FROM {orders}_changes \
                 WHERE order_id = $1 AND seq > $2 ORDER BY seq"
            ),
            select_last_change: format!("SELECT COALESCE(MAX(seq), 0) FROM {orders}_changes"),
            purge_changes: format!("DELETE FROM {orders}_changes WHERE changed_at < $1"),
            end_sessions: format!(
                "INSERT INTO {orders}_ended_sessions (customer_id, ended_at) VALUES ($1, $2) \
                 ON CONFLICT (customer_id) DO NOTHING"
            ),
            select_sessions_ended: format!(
                "SELECT 1 FROM {orders}_ended_sessions WHERE customer_id = $1"
            ),
            purge_sessions_ended: format!(
                "DELETE FROM {orders}_ended_sessions WHERE ended_at < $1"
            ),
            update_statuses: format!(
                "UPDATE {orders} SET status = u.status, status_at = u.status_at \
                 FROM UNNEST($1::text[], $2::bigint[], $3::bigint[]) AS u(order_id, status, status_at) \
                 WHERE {orders}.order_id = u.order_id"
            ),
            upsert_watches: format!(
                "INSERT INTO {watch} (order_id, status, updated_at) \
                 SELECT order_id, status, $3 FROM UNNEST($1::text[], $2::bigint[]) AS u(order_id, status) \
                 ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, \
                 updated_at = excluded.updated_at"
            ),
            delete_watches: format!("DELETE FROM {watch} WHERE order_id = ANY($1)"),
            // Another watchdog (on another host) may be flagging at the same time: rows it holds
            // are left to it.
            flag_watches: format!(
                "UPDATE {watch} SET status = $2 WHERE order_id IN \
                 (SELECT order_id FROM {watch} WHERE updated_at < $1 AND status <> $2 \
                  FOR UPDATE SKIP LOCKED) RETURNING order_id"
            ),
            count_stuck: format!("SELECT COUNT(*) FROM {watch} WHERE status = $1"),
            flag_orders: format!(
                "UPDATE {orders} SET status = $2 WHERE order_id = ANY($1) \
                 RETURNING order_id, customer_id, status_at"
            ),
            purge_orders_watch: format!(
                "DELETE FROM {watch} WHERE order_id IN \
                 (SELECT order_id FROM {orders} WHERE timestamp < $1)"
            ),
            purge_orders: format!("DELETE FROM {orders} WHERE timestamp < $1"),
            purge_watch: format!("DELETE FROM {watch} WHERE updated_at < $1"),
        }
    }
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
            sql: Statements::new(&orders, &watch),
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
    sql: &Statements,
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
    tx.execute("SELECT pg_notify($1, '')", &[&channel]).await?;
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
impl OrderStore for PostgresOrderStore {
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

    async fn count_stuck(&self, stuck: i64) -> Result<u64, StoreError> {
        let client = self.pg.client().await?;
        client
            .query_one(&self.sql.count_stuck, &[&stuck])
            .await
            .map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or_default())
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
