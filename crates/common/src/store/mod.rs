//! State stores: the original's `BaseStateStore`, split by who uses it. The web app and the status
//! service share the orders store (the materialised view between Command and Query); delivery
//! keeps its own. `db_module_class` picks the implementation; SQLite is the one shipped.

mod sqlite;
mod sqlite_delivery;
mod sqlite_orders;

use std::sync::Arc;

use crate::settings::{DeliveryStoreSettings, OrdersStoreSettings};
use crate::status::StatusAt;

pub use sqlite_delivery::SqliteDeliveryStore;
pub use sqlite_orders::SqliteOrderStore;

/// The values `db_module_class` accepts.
pub const IMPLEMENTATIONS: &[&str] = &["sqlite"];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state store {path}: cannot create its folder: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("table name {0:?} is not a plain identifier (letters, digits, _)")]
    TableName(String),
    #[error("unknown state store implementation {0:?}")]
    Implementation(String),
    #[error("order {0} already exists")]
    DuplicateOrder(String),
    #[error("state store task failed: {0}")]
    Task(String),
}

/// Runs a store call on tokio's blocking pool: SQLite waits on disk and on locks, which must not
/// stall the tasks that keep consuming and answering.
pub async fn blocking<T, F>(call: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(call)
        .await
        .unwrap_or_else(|error| Err(StoreError::Task(error.to_string())))
}

/// What every store does, whatever it holds.
pub trait StateStore: Send + Sync {
    /// Creates the tables and indexes if they do not exist yet.
    fn create_tables(&self) -> Result<(), StoreError>;
    /// Deletes rows older than the retention period; returns how many went.
    fn purge_older_than(&self, cutoff_ms: i64) -> Result<usize, StoreError>;
}

/// A new order, as the web app takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub order_id: String,
    pub customer_id: String,
    pub username: String,
    pub timestamp: i64,
    pub sauce: String,
    pub cheese: String,
    pub main_topping: String,
    pub extra_toppings: Vec<String>,
    pub status: i64,
}

impl NewOrder {
    /// The row for an order as `pizza-ordered` describes it.
    pub fn placed(
        order_id: &str,
        details: &crate::events::OrderDetails,
        timestamp: i64,
        status: i64,
    ) -> Self {
        Self {
            order_id: order_id.to_owned(),
            customer_id: details.customer_id.clone(),
            username: details.username.clone(),
            timestamp,
            sauce: details.sauce.clone(),
            cheese: details.cheese.clone(),
            main_topping: details.main_topping.clone(),
            extra_toppings: details.extra_toppings.clone(),
            status,
        }
    }
}

/// An order as the view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: String,
    pub customer_id: String,
    pub username: String,
    pub timestamp: i64,
    pub sauce: String,
    pub cheese: String,
    pub main_topping: String,
    pub extra_toppings: Vec<String>,
    pub status: i64,
    pub status_at: i64,
}

/// The outcome of folding one status event into the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Updated {
        previous: i64,
    },
    /// Older than (or the same as) what the order shows; a redelivery or a late event.
    Ignored {
        current: i64,
    },
    UnknownOrder,
}

/// The orders table and the watched statuses behind the web app and the status service.
pub trait OrderStore: StateStore {
    /// Stores a new order and starts watching it, in one transaction.
    fn add_order(&self, order: &NewOrder, now_ms: i64) -> Result<(), StoreError>;
    /// Removes an order the broker never acknowledged, so no half-made order remains.
    fn delete_order(&self, order_id: &str) -> Result<(), StoreError>;
    fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, StoreError>;
    /// A customer's orders, newest first.
    fn customer_orders(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<OrderRecord>, StoreError>;
    /// Applies [`crate::status::supersedes`] and, when the event wins, updates the order and its
    /// watched status (dropped once the order is finished), in one transaction.
    fn update_order_status(
        &self,
        order_id: &str,
        incoming: StatusAt,
        now_ms: i64,
    ) -> Result<StatusChange, StoreError>;
    /// [`Self::update_order_status`] for several events, in their order, in one transaction: the
    /// status service folds whatever is waiting in one commit.
    fn update_order_statuses(
        &self,
        updates: &[(String, StatusAt)],
        now_ms: i64,
    ) -> Result<Vec<StatusChange>, StoreError>;
    /// Starts or refreshes watching an order for progress.
    fn upsert_watched_status(
        &self,
        order_id: &str,
        status: i64,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    fn delete_watched_status(&self, order_id: &str) -> Result<(), StoreError>;
    /// The stuck query: marks every watched order with no progress since `cutoff_ms` with the
    /// `stuck` status (keeping its event time, so any real progress replaces it) and returns them.
    fn flag_stuck(&self, cutoff_ms: i64, stuck: i64) -> Result<Vec<String>, StoreError>;
}

/// What delivery should do after hearing of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryAction {
    /// The early warning was noted; the pizza is not baked yet.
    Remembered,
    /// Baked before the early warning arrived: tell the customer to bear with us.
    Pending,
    /// Go: the customer is known and the pizza is baked. `late` when the early warning came
    /// after the pizza was baked (the original doubles the delivery time then).
    Deliver { customer_id: String, late: bool },
    /// A repeated notice, or the order was already delivered.
    Nothing,
}

/// Delivery's order → customer rows.
pub trait DeliveryStore: StateStore {
    /// The early warning (`pizza-ordered`).
    fn on_ordered(
        &self,
        order_id: &str,
        customer_id: &str,
        now_ms: i64,
    ) -> Result<DeliveryAction, StoreError>;
    /// The pizza is ready (`pizza-baked`).
    fn on_baked(&self, order_id: &str, now_ms: i64) -> Result<DeliveryAction, StoreError>;
    fn mark_delivered(&self, order_id: &str, now_ms: i64) -> Result<(), StoreError>;
}

/// Rules the orders store applies when folding statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRules {
    /// Finished: never overwritten, no longer watched.
    pub completed: Vec<i64>,
    /// Not watched for progress either (e.g. `something_wrong`: nothing more will happen).
    pub unwatched: Vec<i64>,
}

pub fn open_order_store(
    settings: &OrdersStoreSettings,
    rules: StatusRules,
) -> Result<Arc<dyn OrderStore>, StoreError> {
    match settings.db_module_class.as_str() {
        "sqlite" => Ok(Arc::new(SqliteOrderStore::open(settings, rules)?)),
        other => Err(StoreError::Implementation(other.to_owned())),
    }
}

pub fn open_delivery_store(
    settings: &DeliveryStoreSettings,
) -> Result<Arc<dyn DeliveryStore>, StoreError> {
    match settings.db_module_class.as_str() {
        "sqlite" => Ok(Arc::new(SqliteDeliveryStore::open(settings)?)),
        other => Err(StoreError::Implementation(other.to_owned())),
    }
}
