//! State stores: the original's `BaseStateStore`, split by who uses it. The web app and the status
//! service share the orders store (the materialised view between Command and Query); delivery
//! keeps its own. `db_module_class` picks the implementation.
//!
//! Stores load and save; the rules they apply are pure functions elsewhere (the status ordering
//! rule in [`common::domain::status`], delivery's decision in the delivery service), so every
//! implementation keeps the same rules by calling them, not by copying them.

mod fold;
mod postgres;
mod records;
pub mod retention;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use common::domain::events::PizzaOrdered;
use common::domain::status::StatusAt;
use common::kafka::HandleError;
use common::settings::{DeliveryStoreSettings, OrdersStoreSettings, StoreLocation};

pub use records::{DeliveryState, OrderRecord, StatusChange, Versioned, ViewChange};

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

/// What every store does, whatever it holds.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Deletes what is older than the configured retention; returns how many rows went.
    async fn purge_expired(&self, now_ms: i64) -> Result<usize, StoreError>;
}

/// The orders and the watched statuses behind the web app and the status service.
#[async_trait]
pub trait OrderStore: StateStore {
    /// Stores a new order and starts watching it, in one transaction.
    async fn add_order(
        &self,
        order_id: &str,
        placed: &PizzaOrdered,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Removes an order the broker never acknowledged, so no half-made order remains.
    async fn delete_order(&self, order_id: &str) -> Result<(), StoreError>;
    async fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, StoreError>;
    /// A customer's orders, newest first.
    async fn customer_orders(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<OrderRecord>, StoreError>;
    /// Folds status events into the view, in their order, in one transaction: each replaces what
    /// its order shows only where [`common::domain::status::supersedes`] says so, and an order
    /// that is finished stops being watched.
    async fn update_statuses(
        &self,
        updates: Vec<(String, StatusAt)>,
        now_ms: i64,
    ) -> Result<Vec<StatusChange>, StoreError>;
    /// The watchdog: marks every watched order with no progress since `cutoff_ms` with the
    /// `stuck` status (keeping its event time, so any real progress replaces it); returns them.
    async fn flag_stuck(&self, cutoff_ms: i64, stuck: i64) -> Result<Vec<String>, StoreError>;
    /// How many watched orders are flagged `stuck` now (progress since clears the flag).
    async fn count_stuck(&self, stuck: i64) -> Result<u64, StoreError>;

    /// The view's changes after `seq`, oldest first, at most `limit` of them. Every change of an
    /// order's status (a folded event, the watchdog's flag) is written with it, in the same
    /// transaction.
    async fn changes_after(&self, seq: i64, limit: usize) -> Result<Vec<ViewChange>, StoreError>;
    /// One order's changes after `seq`, oldest first.
    async fn order_changes_after(
        &self,
        order_id: &str,
        seq: i64,
    ) -> Result<Vec<ViewChange>, StoreError>;
    /// The `seq` of the newest change (0 when there is none).
    async fn last_change(&self) -> Result<i64, StoreError>;
    /// Fires after commits that changed the view (it may fire for others too): the value counts
    /// the wake-ups. The store's own way of saying so, not a timer: PostgreSQL's `NOTIFY`, a file
    /// watch on the SQLite file.
    async fn watch_changes(&self) -> Result<tokio::sync::watch::Receiver<u64>, StoreError>;

    /// Ends every session of a customer (they logged out), for every web app sharing the store.
    /// Kept for [`SESSIONS_ENDED_KEPT_MS`], longer than any session may last.
    async fn end_sessions(&self, customer_id: &str, now_ms: i64) -> Result<(), StoreError>;
    /// Whether the customer's sessions were ended.
    async fn sessions_ended(&self, customer_id: &str) -> Result<bool, StoreError>;
}

/// How long an ended session is remembered: the web app refuses sessions older than this anyway.
pub const SESSIONS_ENDED_KEPT_MS: i64 = 31 * 24 * 3_600_000;

/// Delivery's memory of each order: loaded, decided about by the delivery service, saved.
#[async_trait]
pub trait DeliveryStore: StateStore {
    async fn load(&self, order_id: &str) -> Result<Option<Versioned<DeliveryState>>, StoreError>;
    /// Saves `state` only if the order's row is still at `expected` (`None`: there was no row);
    /// `false` when another event or instance changed it first, so the caller decides again.
    async fn save(
        &self,
        order_id: &str,
        state: &DeliveryState,
        expected: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
}

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

/// How long a change of the view is kept for pages that reconnect: far longer than any
/// reconnection takes. The same for every backend.
pub(crate) const CHANGES_KEPT_MS: i64 = 3_600_000;

/// Table names come from configuration and end up in SQL text, so only plain identifiers pass.
fn table_name(name: &str) -> Result<String, StoreError> {
    let plain = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        Ok(name.to_owned())
    } else {
        Err(StoreError::TableName(name.to_owned()))
    }
}

/// Retention periods are configured in hours.
pub fn hours_before(now_ms: i64, hours: f64) -> i64 {
    now_ms.saturating_sub((hours * 3_600_000.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_must_be_plain() {
        assert!(table_name("orders").is_ok());
        assert!(table_name("status_watch2").is_ok());
        assert!(table_name("orders; DROP TABLE x").is_err());
        assert!(table_name("1st").is_err());
        assert!(table_name("").is_err());
    }
}
