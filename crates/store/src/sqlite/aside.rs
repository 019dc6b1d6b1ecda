//! A rebuild's tables aside in SQLite (`crate::rebuild`), on a connection of the rebuild's own:
//! the live store's thread goes on serving the programs. The tables aside are made from the live
//! tables' own definitions (SQLite keeps each `CREATE` as text), so they follow every migration;
//! the switch holds the file's write lock (`BEGIN IMMEDIATE`: the programs' writes wait, their
//! reads go on from the last commit), drops the live tables, renames the rebuilt ones and makes
//! the live tables' indexes again, all in one transaction.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::statements::{OrderStatements, RebuildDeliveryStatements, RebuildOrderStatements};
use super::CachedStatements;
use crate::rebuild::{aside_name, Aside, DeliveryRow, Switch, Switched, ViewRow};
use crate::sql_text::table_name;
use crate::StoreError;
use common::settings::{DeliveryStoreSettings, OrdersStoreSettings};

/// How long a statement waits for the programs' writes to let go of the file.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Rows written in one transaction before the switch: large enough to cost little, small enough
/// that the programs' writes never wait long for the file.
const ROWS_PER_COMMIT: usize = 2_000;

/// The rebuild's connection, used from blocking threads one call at a time.
struct Connected {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
    /// Inside the switch's transaction (after [`Connected::lock`]).
    locked: bool,
}

impl Connected {
    fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)
            .and_then(|conn| conn.busy_timeout(BUSY_TIMEOUT).map(|()| conn))
            .map_err(|source| sqlite_error(path, source))?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
            locked: false,
        })
    }

    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut conn)
        })
        .await
        .map_err(|_| StoreError::Unanswered {
            path: path.display().to_string(),
        })?
    }

    /// Runs `rows` through `write` in transactions of [`ROWS_PER_COMMIT`], or inside the
    /// switch's transaction once the live tables are held.
    async fn write<R, F>(&self, rows: Vec<R>, write: F) -> Result<(), StoreError>
    where
        R: Send + 'static,
        F: Fn(&Connection, &R) -> rusqlite::Result<()> + Send + 'static,
    {
        let (locked, path) = (self.locked, self.path.clone());
        self.run(move |conn| {
            let failed = |source| sqlite_error(&path, source);
            if locked {
                return rows
                    .iter()
                    .try_for_each(|row| write(conn, row))
                    .map_err(failed);
            }
            for chunk in rows.chunks(ROWS_PER_COMMIT) {
                let tx = conn.transaction().map_err(failed)?;
                chunk
                    .iter()
                    .try_for_each(|row| write(&tx, row))
                    .map_err(failed)?;
                tx.commit().map_err(failed)?;
            }
            Ok(())
        })
        .await
    }

    /// Takes the file's write lock and keeps it, in a transaction the switch commits.
    async fn lock(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.run(move |conn| {
            conn.execute_batch("BEGIN IMMEDIATE")
                .map_err(|source| sqlite_error(&path, source))
        })
        .await?;
        self.locked = true;
        Ok(())
    }
}

fn sqlite_error(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.display().to_string(),
        source,
    }
}

/// Drops what an earlier rebuild left aside and makes each live table's twin, empty, from the
/// live table's own definition.
pub(super) fn make_aside(
    conn: &Connection,
    path: &Path,
    tables: &[&str],
) -> Result<(), StoreError> {
    for live in tables {
        let aside = aside_name(live);
        let definition: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [live],
                |row| row.get(0),
            )
            .optional()
            .map_err(|source| sqlite_error(path, source))?;
        // SQLite keeps `CREATE TABLE <name> (<columns>)`, the name perhaps quoted.
        let columns = definition
            .as_deref()
            .and_then(|sql| sql.find('(').map(|at| &sql[at..]))
            .ok_or_else(|| StoreError::NoTable {
                path: path.display().to_string(),
                table: (*live).to_owned(),
            })?;
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS {aside}; CREATE TABLE {aside} {columns}"
        ))
        .map_err(|source| sqlite_error(path, source))?;
    }
    Ok(())
}

/// Puts each rebuilt table in place of its live one, with the live one's indexes; inside the
/// switch's transaction.
fn put_in_place(conn: &Connection, tables: &[&str]) -> rusqlite::Result<()> {
    for live in tables {
        let indexes: Vec<String> = {
            let mut statement = conn.prepare(
                "SELECT sql FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
            )?;
            let rows = statement.query_map([live], |row| row.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let aside = aside_name(live);
        conn.execute_batch(&format!(
            "DROP TABLE {live}; ALTER TABLE {aside} RENAME TO {live};"
        ))?;
        for index in indexes {
            conn.execute_batch(&index)?;
        }
    }
    Ok(())
}

/// Commits the switch, or gives it up: nothing of it stays.
fn finish<T>(conn: &Connection, path: &Path, done: rusqlite::Result<T>) -> Result<T, StoreError> {
    let ended = match &done {
        Ok(_) => conn.execute_batch("COMMIT"),
        Err(_) => conn.execute_batch("ROLLBACK"),
    };
    let done = done.map_err(|source| sqlite_error(path, source))?;
    ended.map_err(|source| sqlite_error(path, source))?;
    Ok(done)
}

/// The orders view's tables aside.
pub(crate) struct OrdersAside {
    db: Connected,
    orders: String,
    watch: String,
    /// The store's statements, run on the tables aside.
    aside: Arc<OrderStatements>,
    rebuild: Arc<RebuildOrderStatements>,
}

impl OrdersAside {
    pub(crate) async fn open(
        path: &Path,
        settings: &OrdersStoreSettings,
    ) -> Result<Self, StoreError> {
        let orders = table_name(&settings.table_orders)?;
        let watch = table_name(&settings.table_status)?;
        let db = Connected::open(path)?;
        let (names, at) = ([orders.clone(), watch.clone()], path.to_path_buf());
        db.run(move |conn| make_aside(conn, &at, &[&names[0], &names[1]]))
            .await?;
        let tables = [("orders", orders.as_str()), ("watch", watch.as_str())];
        let (orders_aside, watch_aside) = (aside_name(&orders), aside_name(&watch));
        Ok(Self {
            db,
            aside: Arc::new(OrderStatements::new(&[
                ("orders", &orders_aside),
                ("watch", &watch_aside),
            ])),
            rebuild: Arc::new(RebuildOrderStatements::new(&tables)),
            orders,
            watch,
        })
    }
}

#[async_trait]
impl Aside<ViewRow> for OrdersAside {
    async fn write(&mut self, rows: Vec<ViewRow>) -> Result<(), StoreError> {
        let (aside, rebuild) = (self.aside.clone(), self.rebuild.clone());
        self.db
            .write(rows, move |conn, row| {
                let order = &row.order;
                let pizza = &order.details.pizza;
                let extras =
                    serde_json::to_string(&pizza.extra_toppings).unwrap_or_else(|_| "[]".into());
                conn.run(
                    &rebuild.upsert_order,
                    params![
                        order.order_id,
                        order.details.customer_id,
                        order.details.username,
                        order.timestamp,
                        pizza.sauce,
                        pizza.cheese,
                        pizza.main_topping,
                        extras,
                        order.status.status,
                        order.status.timestamp
                    ],
                )?;
                match row.watched_since {
                    Some(since) => conn.run(
                        &aside.upsert_watch,
                        params![order.order_id, order.status.status, since],
                    )?,
                    None => conn.run(&aside.delete_watch, [&order.order_id])?,
                };
                Ok(())
            })
            .await
    }

    async fn lock_live(&mut self) -> Result<(), StoreError> {
        self.db.lock().await
    }

    async fn switch(self: Box<Self>, switch: Switch) -> Result<Switched, StoreError> {
        let Self {
            mut db,
            orders,
            watch,
            aside,
            rebuild,
        } = *self;
        if !db.locked {
            db.lock().await?;
        }
        let path = db.path.clone();
        db.run(move |conn| {
            let done = (|| {
                let mut switched = Switched::default();
                if let Some(stuck) = switch.stuck {
                    switched.flagged = flag_stuck(conn, &aside, stuck.cutoff_ms, stuck.status)?;
                }
                (switched.kept_recent, switched.kept_older) =
                    conn.row(&rebuild.count_kept, [switch.since_ms], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?;
                conn.run(&rebuild.keep_watches, [])?;
                conn.run(&rebuild.keep_orders, [])?;
                switched.changed = conn.run(&rebuild.insert_changes, [switch.now_ms])? as u64;
                put_in_place(conn, &[&orders, &watch])?;
                Ok(switched)
            })();
            finish(conn, &path, done)
        })
        .await
    }
}

/// The watchdog's rule on the tables aside, with the store's own statements.
fn flag_stuck(
    conn: &Connection,
    aside: &OrderStatements,
    cutoff_ms: i64,
    stuck: i64,
) -> rusqlite::Result<u64> {
    let ids: Vec<String> = {
        let mut statement = conn.prepare_cached(&aside.select_stuck)?;
        let rows = statement.query_map(params![cutoff_ms, stuck], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in &ids {
        conn.row(&aside.flag_order, params![id, stuck], |_| Ok(()))
            .optional()?;
        conn.run(&aside.flag_watch, params![id, stuck])?;
    }
    Ok(ids.len() as u64)
}

/// Delivery's table aside.
pub(crate) struct DeliveryAside {
    db: Connected,
    customers: String,
    rebuild: Arc<RebuildDeliveryStatements>,
}

impl DeliveryAside {
    pub(crate) async fn open(
        path: &Path,
        settings: &DeliveryStoreSettings,
    ) -> Result<Self, StoreError> {
        let customers = table_name(&settings.table_customers)?;
        let db = Connected::open(path)?;
        let (name, at) = (customers.clone(), path.to_path_buf());
        db.run(move |conn| make_aside(conn, &at, &[&name])).await?;
        Ok(Self {
            db,
            rebuild: Arc::new(RebuildDeliveryStatements::new(&[("customers", &customers)])),
            customers,
        })
    }
}

#[async_trait]
impl Aside<DeliveryRow> for DeliveryAside {
    async fn write(&mut self, rows: Vec<DeliveryRow>) -> Result<(), StoreError> {
        let rebuild = self.rebuild.clone();
        self.db
            .write(rows, move |conn, row| {
                let state = &row.state;
                conn.run(
                    &rebuild.upsert_state,
                    params![
                        row.order_id,
                        state.customer_id,
                        state.baked,
                        state.late,
                        state.delivered,
                        row.updated_at
                    ],
                )
                .map(|_| ())
            })
            .await
    }

    async fn lock_live(&mut self) -> Result<(), StoreError> {
        self.db.lock().await
    }

    async fn switch(self: Box<Self>, switch: Switch) -> Result<Switched, StoreError> {
        let Self {
            mut db,
            customers,
            rebuild,
        } = *self;
        if !db.locked {
            db.lock().await?;
        }
        let path = db.path.clone();
        db.run(move |conn| {
            let done = (|| {
                let mut switched = Switched::default();
                (switched.kept_recent, switched.kept_older) = conn.row(
                    &rebuild.count_kept,
                    [switch.since_ms, switch.now_ms],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?;
                conn.run(&rebuild.bump_versions, [])?;
                conn.run(&rebuild.keep_states, [switch.since_ms, switch.now_ms])?;
                switched.changed = conn.row(&rebuild.count_changed, [], |row| row.get(0))?;
                put_in_place(conn, &[&customers])?;
                Ok(switched)
            })();
            finish(conn, &path, done)
        })
        .await
    }
}
