//! Rebuilding a store from the history, with the shop running. The stores are derived: the orders
//! view from `pizza-ordered` and `pizza-status`, delivery's memory from `pizza-ordered`,
//! `pizza-baked`, `pizza-pending` and `pizza-delivered`. A rebuild writes what it derives into
//! tables beside the live ones (`<table>_rebuilt`), which no program reads, then switches: in one
//! transaction that holds the live tables against writers (readers go on), it folds in what the
//! topics got meanwhile, keeps what the live tables hold and the history does not, and puts the
//! rebuilt tables in their place. Until that commit the live tables are untouched, so a rebuild
//! that stops at any point (`kill -9` included) leaves them as they were, and the next one starts
//! by dropping what the last one left aside.
//!
//! What a rebuild derives is its caller's business (the `rebuild` program); this module says what
//! a store's tables aside take and do: [`Aside`], which each backend implements and
//! [`crate::orders_aside`] and [`crate::delivery_aside`] open; [`crate::lock_rebuild`] keeps a
//! second rebuild out.

use async_trait::async_trait;

use crate::{DeliveryState, OrderRecord, StoreError};

/// The suffix of a table being rebuilt: `orders_rebuilt` beside `orders`.
pub const ASIDE_SUFFIX: &str = "_rebuilt";

/// An order as the rebuilt view holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRow {
    pub order: OrderRecord,
    /// Watched by the watchdog since this time (ms: its last progress), or not watched (it is
    /// finished, or its watch is older than the view keeps).
    pub watched_since: Option<i64>,
}

/// An order's delivery state as the rebuilt store holds it: never claimed (no driver is out for
/// it as far as the history knows; a live claim wins at the switch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub order_id: String,
    pub state: DeliveryState,
    /// The time of the last event it was derived from (ms); retention counts from it.
    pub updated_at: i64,
}

/// What the switch goes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    /// When the rebuild began (less a margin for the clocks of other hosts): what the live store
    /// changed since then is newer than what was read.
    pub since_ms: i64,
    pub now_ms: i64,
    /// The watchdog's rule, applied to the rebuilt view as the status service applies it to the
    /// live one; `None` for delivery.
    pub stuck: Option<Stuck>,
}

/// Watched orders with no progress since `cutoff_ms` show `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stuck {
    pub cutoff_ms: i64,
    pub status: i64,
}

/// What a switch found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switched {
    /// Live rows newer than the rebuild, kept as they were: orders placed while it ran, delivery
    /// states changed while it ran or claimed by a driver still out.
    pub kept_recent: u64,
    /// Older live rows the history does not hold (it begins after them), kept as they were.
    pub kept_older: u64,
    /// Rows that now hold something else than the live store held (new rows included); for the
    /// view, each is a change the pages following the order hear of.
    pub changed: u64,
    /// Orders the watchdog's rule flagged stuck.
    pub flagged: u64,
}

/// One store's tables being rebuilt aside. Rows are written with [`Aside::write`] (as often as
/// needed; a row written again replaces the one before); then [`Aside::lock_live`] holds the live
/// tables against writers, the caller writes what the topics got meanwhile, and
/// [`Aside::switch`] puts the rebuilt tables in place and lets go. Dropped before the switch
/// commits, it leaves the live tables as they were.
#[async_trait]
pub trait Aside<Row: Send + 'static>: Send {
    async fn write(&mut self, rows: Vec<Row>) -> Result<(), StoreError>;
    /// Holds the live tables against writers until the switch; readers go on.
    async fn lock_live(&mut self) -> Result<(), StoreError>;
    async fn switch(self: Box<Self>, switch: Switch) -> Result<Switched, StoreError>;
}

/// The name of `table`'s rebuilt twin.
pub(crate) fn aside_name(table: &str) -> String {
    format!("{table}{ASIDE_SUFFIX}")
}
