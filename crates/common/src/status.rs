//! Order status codes and their customer-facing texts (`[status-id]`, `[status-label]`), and the
//! rule that decides whether a status event may replace the one an order already has.

use std::collections::HashMap;

use crate::settings::{IniFile, SettingsError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusIds {
    pub stuck: i64,
    pub order_placed: i64,
    pub pending: i64,
    pub pizza_assembled: i64,
    pub pizza_baked: i64,
    pub unknown: i64,
    pub something_wrong: i64,
    pub cancelled: i64,
    pub delivered: i64,
}

const NAMES: [&str; 9] = [
    "stuck",
    "order_placed",
    "pending",
    "pizza_assembled",
    "pizza_baked",
    "unknown",
    "something_wrong",
    "cancelled",
    "delivered",
];

impl StatusIds {
    pub fn by_name(&self, name: &str) -> Option<i64> {
        Some(match name {
            "stuck" => self.stuck,
            "order_placed" => self.order_placed,
            "pending" => self.pending,
            "pizza_assembled" => self.pizza_assembled,
            "pizza_baked" => self.pizza_baked,
            "unknown" => self.unknown,
            "something_wrong" => self.something_wrong,
            "cancelled" => self.cancelled,
            "delivered" => self.delivered,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct StatusCatalog {
    pub ids: StatusIds,
    labels: HashMap<i64, String>,
    fallback: String,
}

impl StatusCatalog {
    pub fn from_ini(file: &IniFile) -> Result<Self, SettingsError> {
        let id = |name: &str| file.parsed::<i64>("status-id", name, "a whole number");
        let ids = StatusIds {
            stuck: id("stuck")?,
            order_placed: id("order_placed")?,
            pending: id("pending")?,
            pizza_assembled: id("pizza_assembled")?,
            pizza_baked: id("pizza_baked")?,
            unknown: id("unknown")?,
            something_wrong: id("something_wrong")?,
            cancelled: id("cancelled")?,
            delivered: id("delivered")?,
        };
        let mut labels = HashMap::new();
        for name in NAMES {
            let code = ids.by_name(name).unwrap_or_default();
            labels.insert(code, file.string("status-label", name)?);
        }
        Ok(Self {
            ids,
            labels,
            fallback: file.string("status-label", "else")?,
        })
    }

    /// The text a customer sees for a status code (`else` for codes the file does not name).
    pub fn label(&self, status: i64) -> &str {
        self.labels.get(&status).unwrap_or(&self.fallback)
    }
}

/// The status an order shows, and the event time it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusAt {
    pub status: i64,
    pub timestamp: i64,
}

/// Whether `incoming` may replace `current` in the materialised view.
///
/// Events reach the status service from several producers and may arrive late or twice, so
/// arrival order means nothing: the event time decides, and on a tie (an instant kitchen can
/// stamp two stages in the same millisecond) the later stage wins. A finished order stays
/// finished: nothing that arrives after delivery or cancellation reopens it.
pub fn supersedes(incoming: StatusAt, current: StatusAt, completed: &[i64]) -> bool {
    if completed.contains(&current.status) {
        return false;
    }
    (incoming.timestamp, incoming.status) > (current.timestamp, current.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DONE: [i64; 2] = [999, 499];

    fn at(status: i64, timestamp: i64) -> StatusAt {
        StatusAt { status, timestamp }
    }

    #[test]
    fn a_newer_event_wins() {
        assert!(supersedes(at(200, 20), at(100, 10), &DONE));
    }

    #[test]
    fn a_late_older_event_never_overwrites() {
        assert!(!supersedes(at(200, 20), at(300, 30), &DONE));
    }

    #[test]
    fn pending_after_baked_is_shown_because_it_is_newer() {
        assert!(supersedes(at(150, 31), at(300, 30), &DONE));
    }

    #[test]
    fn same_millisecond_goes_to_the_later_stage() {
        assert!(supersedes(at(300, 10), at(200, 10), &DONE));
        assert!(!supersedes(at(200, 10), at(300, 10), &DONE));
    }

    #[test]
    fn a_redelivered_event_changes_nothing() {
        assert!(!supersedes(at(200, 20), at(200, 20), &DONE));
    }

    #[test]
    fn progress_clears_a_stuck_mark() {
        assert!(supersedes(at(300, 40), at(50, 20), &DONE));
    }

    #[test]
    fn delivered_is_final() {
        assert!(!supersedes(at(50, 99), at(999, 30), &DONE));
        assert!(!supersedes(at(300, 99), at(999, 30), &DONE));
    }
}
