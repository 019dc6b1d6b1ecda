//! State stores: the original's `BaseStateStore`, split by who uses it. The web app and the status
//! service share the orders store (the materialised view between Command and Query), each module
//! taking the port it needs ([`Orders`], [`StatusFold`], [`Watchdog`], [`ChangeFeed`],
//! [`Sessions`]; [`OrderStore`] is all of them); delivery keeps its own ([`DeliveryStore`]).
//! `db_module_class` picks the implementation: SQLite or PostgreSQL, each statement of theirs a
//! `.sql` file of its own (`src/<backend>/sql/`), and one contract suite (`tests/contract/`)
//! holding both to the same behaviour.
//!
//! Stores load and save; the rules they apply are pure functions elsewhere (the status ordering
//! rule in [`common::domain::status`], delivery's decision in the delivery service), so every
//! implementation keeps the same rules by calling them, not by copying them.

mod fold;
mod ports;
mod postgres;
pub mod rebuild;
mod rebuild_lock;
mod records;
pub mod retention;
mod sql_text;
mod sqlite;

use std::sync::Arc;

use common::kafka::HandleError;
use common::settings::{DeliveryStoreSettings, OrdersStoreSettings, StoreLocation};

pub use ports::{
    ChangeFeed, DeliveryStore, OrderStore, Orders, Sessions, StateStore, StatusFold, Watchdog,
};
pub use rebuild_lock::{lock_rebuild, RebuildLock};
pub use records::{DeliveryState, OrderRecord, StatusChange, Versioned, ViewChange};

use rebuild::{Aside, DeliveryRow, ViewRow};

/// A failure of a store, with its cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state store {path}: cannot create its folder")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state store {database}")]
    Postgres {
        database: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("state store {database} is unavailable")]
    Unavailable {
        database: String,
        #[source]
        source: deadpool_postgres::PoolError,
    },
    #[error("state store {database}: cannot make its connection pool")]
    PoolBuild {
        database: String,
        #[source]
        source: deadpool_postgres::BuildError,
    },
    #[error("cannot open or lock the rebuild's lock file {path}")]
    LockFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a rebuild of {store} is already running ({holder}); wait for it to finish, or stop it, and run this one again")]
    RebuildRunning { store: String, holder: String },
    #[error("state store {path}: table {table} is not there to rebuild beside")]
    NoTable { path: String, table: String },
    #[error("table name {0:?} is not a plain identifier (letters, digits, _)")]
    TableName(String),
    #[error("order {0} already exists")]
    DuplicateOrder(String),
    #[error("state store {path}: cannot start its thread")]
    Thread {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state store {path}: a call ended without an answer (it panicked, or the store's thread stopped)")]
    Unanswered { path: String },
    #[error("state store {path}: cannot watch it for changes")]
    Watch {
        path: String,
        #[source]
        source: notify::Error,
    },
}

impl StoreError {
    /// Whether the database could not be reached at all (as opposed to refusing a statement):
    /// the web app says so with a 503, and it passes when the database is back.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable { .. } => true,
            Self::Postgres { source, .. } => source.is_closed() || source.as_db_error().is_none(),
            _ => false,
        }
    }
}

/// A store that fails while an event is handled fails for now: the event is tried again.
impl From<StoreError> for HandleError {
    fn from(error: StoreError) -> Self {
        Self::transient(error)
    }
}

/// How long an ended session is remembered: the web app refuses sessions older than this anyway.
pub const SESSIONS_ENDED_KEPT_MS: i64 = 31 * 24 * 3_600_000;

pub async fn open_order_store(
    settings: &OrdersStoreSettings,
) -> Result<Arc<dyn OrderStore>, StoreError> {
    match &settings.location {
        StoreLocation::Sqlite(path) => Ok(Arc::new(
            sqlite::SqliteOrderStore::open(path, settings).await?,
        )),
        StoreLocation::Postgres(url) => Ok(Arc::new(
            postgres::PostgresOrderStore::open(url, settings).await?,
        )),
    }
}

pub async fn open_delivery_store(
    settings: &DeliveryStoreSettings,
) -> Result<Arc<dyn DeliveryStore>, StoreError> {
    match &settings.location {
        StoreLocation::Sqlite(path) => Ok(Arc::new(
            sqlite::SqliteDeliveryStore::open(path, settings).await?,
        )),
        StoreLocation::Postgres(url) => Ok(Arc::new(
            postgres::PostgresDeliveryStore::open(url, settings).await?,
        )),
    }
}

/// The orders view's tables aside, empty: the live ones are brought up to date first (as the
/// programs that open the store do), and whatever an earlier rebuild left aside is dropped.
pub async fn orders_aside(
    settings: &OrdersStoreSettings,
) -> Result<Box<dyn Aside<ViewRow>>, StoreError> {
    open_order_store(settings).await?;
    Ok(match &settings.location {
        StoreLocation::Sqlite(path) => Box::new(sqlite::OrdersAside::open(path, settings).await?),
        StoreLocation::Postgres(url) => Box::new(postgres::OrdersAside::open(url, settings).await?),
    })
}

/// Delivery's table aside, empty, as [`orders_aside`].
pub async fn delivery_aside(
    settings: &DeliveryStoreSettings,
) -> Result<Box<dyn Aside<DeliveryRow>>, StoreError> {
    open_delivery_store(settings).await?;
    Ok(match &settings.location {
        StoreLocation::Sqlite(path) => Box::new(sqlite::DeliveryAside::open(path, settings).await?),
        StoreLocation::Postgres(url) => {
            Box::new(postgres::DeliveryAside::open(url, settings).await?)
        }
    })
}

/// How long a change of the view is kept for pages that reconnect: far longer than any
/// reconnection takes. The same for every backend.
pub const CHANGES_KEPT_MS: i64 = 3_600_000;

/// Retention periods are configured in hours.
pub fn hours_before(now_ms: i64, hours: f64) -> i64 {
    now_ms.saturating_sub((hours * 3_600_000.0) as i64)
}
