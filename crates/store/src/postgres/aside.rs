//! A rebuild's tables aside in PostgreSQL (`crate::rebuild`), on a connection of the rebuild's
//! own. The tables aside are made `LIKE` the live ones (columns, defaults, constraints, indexes),
//! so they follow every migration; the switch locks the live tables `IN EXCLUSIVE MODE` (the
//! programs' writes wait, their reads go on), drops them, renames the rebuilt ones and gives
//! their indexes the live ones' names, all in one transaction.

use std::str::FromStr;

use async_trait::async_trait;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, GenericClient, NoTls};

use super::statements::{OrderStatements, RebuildDeliveryStatements, RebuildOrderStatements};
use crate::rebuild::{aside_name, Aside, DeliveryRow, Switch, Switched, ViewRow};
use crate::sql_text::table_name;
use crate::StoreError;
use common::settings::{DeliveryStoreSettings, OrdersStoreSettings};

/// Rows sent in one statement (as arrays) before the switch.
const ROWS_PER_STATEMENT: usize = 5_000;

/// One column of a batch, as an array parameter.
type Column = Box<dyn ToSql + Sync + Send>;

/// The rebuild's connection.
struct Connected {
    client: Client,
    database: String,
    locked: bool,
}

impl Connected {
    async fn open(url: &str) -> Result<Self, StoreError> {
        let config = Config::from_str(url).map_err(|source| StoreError::Postgres {
            database: "the [state-store-*] name".into(),
            source,
        })?;
        let database = super::described(&config);
        let (client, connection) =
            config
                .connect(NoTls)
                .await
                .map_err(|source| StoreError::Postgres {
                    database: database.clone(),
                    source,
                })?;
        tokio::spawn(connection);
        Ok(Self {
            client,
            database,
            locked: false,
        })
    }

    fn error(&self, source: tokio_postgres::Error) -> StoreError {
        StoreError::Postgres {
            database: self.database.clone(),
            source,
        }
    }

    /// Drops what an earlier rebuild left aside and makes each live table's twin, empty.
    async fn make_aside(&self, tables: &[&str]) -> Result<(), StoreError> {
        for live in tables {
            let aside = aside_name(live);
            self.client
                .batch_execute(&format!(
                    "DROP TABLE IF EXISTS {aside}; \
                     CREATE TABLE {aside} (LIKE {live} INCLUDING ALL);"
                ))
                .await
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// Begins the switch's transaction and holds `tables` against writers until it ends.
    async fn lock(&mut self, tables: &[&str]) -> Result<(), StoreError> {
        self.client
            .batch_execute(&format!(
                "BEGIN; LOCK TABLE {} IN EXCLUSIVE MODE;",
                tables.join(", ")
            ))
            .await
            .map_err(|e| self.error(e))?;
        self.locked = true;
        Ok(())
    }

    /// Runs `statement` once per chunk of `rows`, as its own transaction before the switch.
    async fn write_chunks<R, F>(
        &self,
        rows: &[R],
        statement: &str,
        mut columns: F,
    ) -> Result<(), StoreError>
    where
        F: FnMut(&[R]) -> Vec<Column>,
    {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let values = columns(chunk);
            let params: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            self.client
                .execute(statement, &params)
                .await
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// Ends the switch: commits what it did, or rolls it all back.
    async fn finish<T>(&self, done: Result<T, tokio_postgres::Error>) -> Result<T, StoreError> {
        let end = if done.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = self.client.batch_execute(end).await;
        let done = done.map_err(|e| self.error(e))?;
        ended.map_err(|e| self.error(e))?;
        Ok(done)
    }
}

/// Puts each rebuilt table in place of its live one, its indexes renamed as the live one's
/// (matched by what they index); inside the switch's transaction.
async fn put_in_place(
    client: &impl GenericClient,
    tables: &[&str],
) -> Result<(), tokio_postgres::Error> {
    for live in tables {
        let aside = aside_name(live);
        let renames = client
            .query(
                "SELECT a.indexname::text, l.indexname::text
                 FROM pg_indexes a
                 JOIN pg_indexes l
                   ON l.schemaname = a.schemaname
                  AND regexp_replace(l.indexdef, ' INDEX \\S+ ON \\S+ ', ' ')
                    = regexp_replace(a.indexdef, ' INDEX \\S+ ON \\S+ ', ' ')
                 WHERE a.schemaname = current_schema() AND a.tablename = $1 AND l.tablename = $2",
                &[&aside, live],
            )
            .await?;
        client
            .batch_execute(&format!(
                "DROP TABLE {live}; ALTER TABLE {aside} RENAME TO {live};"
            ))
            .await?;
        for row in renames {
            let (from, to): (String, String) = (row.get(0), row.get(1));
            client
                .batch_execute(&format!(
                    "ALTER INDEX {} RENAME TO {}",
                    quoted(&from),
                    quoted(&to)
                ))
                .await?;
        }
    }
    Ok(())
}

/// An identifier from the catalogue, quoted for SQL text.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The orders view's tables aside.
pub(crate) struct OrdersAside {
    db: Connected,
    orders: String,
    watch: String,
    channel: String,
    /// The store's statements, run on the tables aside.
    aside: OrderStatements,
    /// The store's statements on the live tables (its change notice).
    live: OrderStatements,
    rebuild: RebuildOrderStatements,
}

impl OrdersAside {
    pub(crate) async fn open(
        url: &str,
        settings: &OrdersStoreSettings,
    ) -> Result<Self, StoreError> {
        let orders = table_name(&settings.table_orders)?;
        let watch = table_name(&settings.table_status)?;
        let db = Connected::open(url).await?;
        db.make_aside(&[&orders, &watch]).await?;
        let tables = [("orders", orders.as_str()), ("watch", watch.as_str())];
        Ok(Self {
            db,
            channel: format!("pizza_view_{orders}"),
            aside: OrderStatements::new(&[
                ("orders", &aside_name(&orders)),
                ("watch", &aside_name(&watch)),
            ]),
            live: OrderStatements::new(&tables),
            rebuild: RebuildOrderStatements::new(&tables),
            orders,
            watch,
        })
    }
}

#[async_trait]
impl Aside<ViewRow> for OrdersAside {
    async fn write(&mut self, rows: Vec<ViewRow>) -> Result<(), StoreError> {
        if !self.db.locked {
            self.db
                .client
                .batch_execute("BEGIN")
                .await
                .map_err(|e| self.db.error(e))?;
        }
        let written = self.write_rows(&rows).await;
        if self.db.locked {
            return written;
        }
        let end = self.db.finish(Ok(())).await;
        written.and(end)
    }

    async fn lock_live(&mut self) -> Result<(), StoreError> {
        let tables = [self.orders.clone(), self.watch.clone()];
        self.db.lock(&[&tables[0], &tables[1]]).await
    }

    async fn switch(mut self: Box<Self>, switch: Switch) -> Result<Switched, StoreError> {
        if !self.db.locked {
            self.lock_live().await?;
        }
        let done = self.switch_in_transaction(switch).await;
        self.db.finish(done).await
    }
}

impl OrdersAside {
    async fn write_rows(&self, rows: &[ViewRow]) -> Result<(), StoreError> {
        self.db
            .write_chunks(rows, &self.rebuild.upsert_orders, |chunk| {
                let column = |f: &dyn Fn(&ViewRow) -> String| -> Vec<String> {
                    chunk.iter().map(f).collect()
                };
                let number =
                    |f: &dyn Fn(&ViewRow) -> i64| -> Vec<i64> { chunk.iter().map(f).collect() };
                vec![
                    Box::new(column(&|r| r.order.order_id.clone())),
                    Box::new(column(&|r| r.order.details.customer_id.clone())),
                    Box::new(column(&|r| r.order.details.username.clone())),
                    Box::new(number(&|r| r.order.timestamp)),
                    Box::new(column(&|r| r.order.details.pizza.sauce.clone())),
                    Box::new(column(&|r| r.order.details.pizza.cheese.clone())),
                    Box::new(column(&|r| r.order.details.pizza.main_topping.clone())),
                    Box::new(column(&|r| {
                        serde_json::to_string(&r.order.details.pizza.extra_toppings)
                            .unwrap_or_else(|_| "[]".into())
                    })),
                    Box::new(number(&|r| r.order.status.status)),
                    Box::new(number(&|r| r.order.status.timestamp)),
                ]
            })
            .await?;
        let (watched, unwatched): (Vec<&ViewRow>, Vec<&ViewRow>) =
            rows.iter().partition(|r| r.watched_since.is_some());
        self.db
            .write_chunks(&watched, &self.rebuild.upsert_watches, |chunk| {
                let ids: Vec<String> = chunk.iter().map(|r| r.order.order_id.clone()).collect();
                let statuses: Vec<i64> = chunk.iter().map(|r| r.order.status.status).collect();
                let since: Vec<i64> = chunk
                    .iter()
                    .map(|r| r.watched_since.unwrap_or_default())
                    .collect();
                vec![Box::new(ids), Box::new(statuses), Box::new(since)]
            })
            .await?;
        self.db
            .write_chunks(&unwatched, &self.aside.delete_watches, |chunk| {
                let ids: Vec<String> = chunk.iter().map(|r| r.order.order_id.clone()).collect();
                vec![Box::new(ids)]
            })
            .await
    }

    async fn switch_in_transaction(
        &self,
        switch: Switch,
    ) -> Result<Switched, tokio_postgres::Error> {
        let client = &self.db.client;
        let mut switched = Switched::default();
        if let Some(stuck) = switch.stuck {
            let flagged = client
                .query(&self.aside.flag_watches, &[&stuck.cutoff_ms, &stuck.status])
                .await?;
            let ids: Vec<String> = flagged.iter().map(|row| row.get(0)).collect();
            if !ids.is_empty() {
                client
                    .execute(&self.aside.flag_orders, &[&ids, &stuck.status])
                    .await?;
            }
            switched.flagged = ids.len() as u64;
        }
        let kept = client
            .query_one(&self.rebuild.count_kept, &[&switch.since_ms])
            .await?;
        switched.kept_recent = count(kept.get(0));
        switched.kept_older = count(kept.get(1));
        client.execute(&self.rebuild.keep_watches, &[]).await?;
        client.execute(&self.rebuild.keep_orders, &[]).await?;
        switched.changed = client
            .execute(&self.rebuild.insert_changes, &[&switch.now_ms])
            .await?;
        if switched.changed > 0 {
            client
                .execute(&self.live.notify_change, &[&self.channel])
                .await?;
        }
        put_in_place(client, &[&self.orders, &self.watch]).await?;
        Ok(switched)
    }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// Delivery's table aside.
pub(crate) struct DeliveryAside {
    db: Connected,
    customers: String,
    rebuild: RebuildDeliveryStatements,
}

impl DeliveryAside {
    pub(crate) async fn open(
        url: &str,
        settings: &DeliveryStoreSettings,
    ) -> Result<Self, StoreError> {
        let customers = table_name(&settings.table_customers)?;
        let db = Connected::open(url).await?;
        db.make_aside(&[&customers]).await?;
        Ok(Self {
            db,
            rebuild: RebuildDeliveryStatements::new(&[("customers", &customers)]),
            customers,
        })
    }
}

#[async_trait]
impl Aside<DeliveryRow> for DeliveryAside {
    async fn write(&mut self, rows: Vec<DeliveryRow>) -> Result<(), StoreError> {
        self.db
            .write_chunks(&rows, &self.rebuild.upsert_states, |chunk| {
                let ids: Vec<String> = chunk.iter().map(|r| r.order_id.clone()).collect();
                let customers: Vec<Option<String>> =
                    chunk.iter().map(|r| r.state.customer_id.clone()).collect();
                let flag = |f: &dyn Fn(&DeliveryRow) -> bool| -> Vec<bool> {
                    chunk.iter().map(f).collect()
                };
                let updated: Vec<i64> = chunk.iter().map(|r| r.updated_at).collect();
                vec![
                    Box::new(ids),
                    Box::new(customers),
                    Box::new(flag(&|r| r.state.baked)),
                    Box::new(flag(&|r| r.state.late)),
                    Box::new(flag(&|r| r.state.delivered)),
                    Box::new(updated),
                ]
            })
            .await
    }

    async fn lock_live(&mut self) -> Result<(), StoreError> {
        let table = self.customers.clone();
        self.db.lock(&[&table]).await
    }

    async fn switch(mut self: Box<Self>, switch: Switch) -> Result<Switched, StoreError> {
        if !self.db.locked {
            self.lock_live().await?;
        }
        let done = self.switch_in_transaction(switch).await;
        self.db.finish(done).await
    }
}

impl DeliveryAside {
    async fn switch_in_transaction(
        &self,
        switch: Switch,
    ) -> Result<Switched, tokio_postgres::Error> {
        let client = &self.db.client;
        let mut switched = Switched::default();
        let kept = client
            .query_one(
                &self.rebuild.count_kept,
                &[&switch.since_ms, &switch.now_ms],
            )
            .await?;
        switched.kept_recent = count(kept.get(0));
        switched.kept_older = count(kept.get(1));
        client.execute(&self.rebuild.bump_versions, &[]).await?;
        client
            .execute(
                &self.rebuild.keep_states,
                &[&switch.since_ms, &switch.now_ms],
            )
            .await?;
        let changed = client.query_one(&self.rebuild.count_changed, &[]).await?;
        switched.changed = count(changed.get(0));
        put_in_place(client, &[&self.customers]).await?;
        Ok(switched)
    }
}
