//! The stores' traits, one per use: each program depends on what it calls, and a backend is a
//! type that implements them all. The orders view is one set of tables behind five ports (the
//! web app's orders, sessions and live pages, the status service's fold and watchdog);
//! [`OrderStore`] is all of them at once, for the code that opens the store and hands it out.

use async_trait::async_trait;
use tokio::sync::watch;

use common::domain::events::PizzaOrdered;
use common::domain::status::StatusAt;

use crate::{DeliveryState, OrderRecord, StatusChange, StoreError, Versioned, ViewChange};

/// What every store does, whatever it holds: the retention chore
/// ([`crate::retention::retention`]) of each service that opens one.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Deletes what is older than the configured retention; returns how many rows went.
    async fn purge_expired(&self, now_ms: i64) -> Result<usize, StoreError>;
}

/// The orders themselves, for the web app: it stores an order as the customer places it, takes
/// it back when the broker never acknowledged it, and shows it and the customer's list.
#[async_trait]
pub trait Orders: Send + Sync {
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
}

/// The view's fold, for the status service: the Query side writes what `pizza-status` says.
#[async_trait]
pub trait StatusFold: Send + Sync {
    /// Folds status events into the view, in their order, in one transaction: each replaces what
    /// its order shows only where [`common::domain::status::supersedes`] says so, and an order
    /// that is finished stops being watched.
    async fn update_statuses(
        &self,
        updates: Vec<(String, StatusAt)>,
        now_ms: i64,
    ) -> Result<Vec<StatusChange>, StoreError>;
}

/// The watchdog's view of the orders it watches: the status service's watchdog flags them, the
/// web app's shop floor counts the flagged ones.
#[async_trait]
pub trait Watchdog: Send + Sync {
    /// Marks every watched order with no progress since `cutoff_ms` with the `stuck` status
    /// (keeping its event time, so any real progress replaces it); returns them.
    async fn flag_stuck(&self, cutoff_ms: i64, stuck: i64) -> Result<Vec<String>, StoreError>;
    /// How many watched orders are flagged `stuck` now (progress since clears the flag).
    async fn count_stuck(&self, stuck: i64) -> Result<u64, StoreError>;
}

/// The view's changes, for the web app's live pages: every change of an order's status (a folded
/// event, the watchdog's flag) is written with it, in the same transaction, and read back in
/// commit order by every web app sharing the store.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// The view's changes after `seq`, oldest first, at most `limit` of them.
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
    async fn watch_changes(&self) -> Result<watch::Receiver<u64>, StoreError>;
}

/// Ended sessions, for the web app: a logout holds for every web app sharing the store, though
/// the cookie itself stays well sealed.
#[async_trait]
pub trait Sessions: Send + Sync {
    /// Ends every session of a customer (they logged out). Kept for
    /// [`SESSIONS_ENDED_KEPT_MS`](crate::SESSIONS_ENDED_KEPT_MS), longer than any session may
    /// last.
    async fn end_sessions(&self, customer_id: &str, now_ms: i64) -> Result<(), StoreError>;
    /// Whether the customer's sessions were ended.
    async fn sessions_ended(&self, customer_id: &str) -> Result<bool, StoreError>;
}

/// The orders view whole: every port of it and its retention. What
/// [`open_order_store`](crate::open_order_store) returns, for a program that hands parts of it
/// to its modules (the web app uses four of the ports, the status service two and the
/// retention); a module that needs one port takes that port.
pub trait OrderStore: StateStore + Orders + StatusFold + Watchdog + ChangeFeed + Sessions {}

impl<T: StateStore + Orders + StatusFold + Watchdog + ChangeFeed + Sessions> OrderStore for T {}

/// Delivery's memory of each order, for the delivery service: loaded, decided about, saved.
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
