//! What the stores hold, whatever keeps it.

use common::domain::events::OrderDetails;
use common::domain::status::StatusAt;

/// An order as the view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: String,
    /// When it was placed (ms since the epoch).
    pub timestamp: i64,
    pub details: OrderDetails,
    /// What it shows now, and the event time of that status.
    pub status: StatusAt,
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

/// What delivery knows of one order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryState {
    /// From the early warning (`pizza-ordered`); `None` until it arrives.
    pub customer_id: Option<String>,
    /// The pizza is out of the oven (`pizza-baked`).
    pub baked: bool,
    /// It was baked before the early warning arrived: the driver could not plan ahead.
    pub late: bool,
    /// A driver is out with it until this time (ms); after that, the claim has lapsed (its
    /// instance stopped) and another may take the order over.
    pub claimed_until: Option<i64>,
    pub delivered: bool,
}

/// A row with the version it was read at, for saving only if nobody changed it since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: i64,
}

/// One committed change of the view: an order now shows `status`. `seq` orders the changes as
/// they were committed, across every writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewChange {
    pub seq: i64,
    pub order_id: String,
    pub customer_id: String,
    pub status: StatusAt,
}
