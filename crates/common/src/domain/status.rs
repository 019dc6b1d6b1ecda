//! Order status codes and their customer-facing texts (`[status-id]`, `[status-label]`), and the
//! rule that decides whether a status event may replace the one an order already has.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::wiring::ServiceName;

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

/// The names of the codes: the keys of `[status-id]` and `[status-label]`.
pub const NAMES: [&str; 9] = [
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
    /// The codes in the order of [`NAMES`].
    fn all(&self) -> [i64; 9] {
        [
            self.stuck,
            self.order_placed,
            self.pending,
            self.pizza_assembled,
            self.pizza_baked,
            self.unknown,
            self.something_wrong,
            self.cancelled,
            self.delivered,
        ]
    }

    /// The code of a `[status-id]` name.
    pub fn by_name(&self, name: &str) -> Option<i64> {
        let index = NAMES.iter().position(|n| *n == name)?;
        self.all().get(index).copied()
    }
}

#[derive(Debug, Clone)]
pub struct StatusCatalog {
    pub ids: StatusIds,
    labels: HashMap<i64, String>,
    fallback: String,
}

impl StatusCatalog {
    /// The codes and texts, each asked for by its name in [`NAMES`]; `label("else")` gives the
    /// text of a code none of them names.
    pub fn try_from_fn<E>(
        mut code: impl FnMut(&'static str) -> Result<i64, E>,
        mut label: impl FnMut(&'static str) -> Result<String, E>,
    ) -> Result<Self, E> {
        let ids = StatusIds {
            stuck: code("stuck")?,
            order_placed: code("order_placed")?,
            pending: code("pending")?,
            pizza_assembled: code("pizza_assembled")?,
            pizza_baked: code("pizza_baked")?,
            unknown: code("unknown")?,
            something_wrong: code("something_wrong")?,
            cancelled: code("cancelled")?,
            delivered: code("delivered")?,
        };
        let mut labels = HashMap::new();
        for (name, status) in NAMES.into_iter().zip(ids.all()) {
            labels.insert(status, label(name)?);
        }
        Ok(Self {
            ids,
            labels,
            fallback: label("else")?,
        })
    }

    /// The text a customer sees for a status code; for a code the file does not name, the `else`
    /// text followed by the code, as the original shows it.
    pub fn label(&self, status: i64) -> Cow<'_, str> {
        match self.labels.get(&status) {
            Some(label) => Cow::Borrowed(label),
            None => Cow::Owned(format!("{} ({status})", self.fallback)),
        }
    }
}

/// A status and the event time it was reached at: the value of `pizza-baked`, `pizza-delivered`
/// and `pizza-pending` events, what the services write on `pizza-status`, and what the view keeps
/// per order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAt {
    pub status: i64,
    pub timestamp: i64,
}

/// A `pizza-status` event as it is read: the services write its fields in lower case, ksqlDB's
/// persistent queries (when they copy the statuses) in upper case. One or the other, as the
/// topic's contract says (`schemas/pizza-status.json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "StatusWire")]
pub struct StatusEvent {
    pub at: StatusAt,
    /// The program that wrote it, since version 2 of the contract; `None` from ksqlDB, the
    /// original's services and this shop's before.
    pub written_by: Option<String>,
}

/// A `pizza-status` event as the shop's programs write it: the status, its time, and who wrote
/// it (version 2 of the contract added `written_by`; consumers of version 1 ignore it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusWritten {
    pub status: i64,
    pub timestamp: i64,
    pub written_by: &'static str,
}

impl StatusWritten {
    pub fn new(at: StatusAt, writer: ServiceName) -> Self {
        Self {
            status: at.status,
            timestamp: at.timestamp,
            written_by: writer.as_str(),
        }
    }
}

/// Every name either writer uses; [`StatusEvent`] takes one pair.
#[derive(Deserialize)]
struct StatusWire {
    status: Option<i64>,
    timestamp: Option<i64>,
    #[serde(rename = "STATUS")]
    ksqldb_status: Option<i64>,
    #[serde(rename = "TIMESTAMP")]
    ksqldb_timestamp: Option<i64>,
    written_by: Option<String>,
}

impl TryFrom<StatusWire> for StatusEvent {
    type Error = String;

    fn try_from(wire: StatusWire) -> Result<Self, Self::Error> {
        let lower_case = wire.status.is_some() || wire.timestamp.is_some();
        let (status, timestamp, names) = if lower_case {
            (wire.status, wire.timestamp, ("status", "timestamp"))
        } else {
            (
                wire.ksqldb_status,
                wire.ksqldb_timestamp,
                ("STATUS", "TIMESTAMP"),
            )
        };
        match (status, timestamp) {
            (Some(status), Some(timestamp)) => Ok(Self {
                at: StatusAt { status, timestamp },
                written_by: wire.written_by,
            }),
            (None, _) => Err(format!("missing field `{}`", names.0)),
            (_, None) => Err(format!("missing field `{}`", names.1)),
        }
    }
}

/// How the view folds statuses, from `[state-store-orders]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRules {
    /// Finished: never overwritten, no longer watched (`status_completed_when`).
    pub completed: Vec<i64>,
    /// Not watched for progress either: `something_wrong`, after which nothing more will happen.
    pub unwatched: Vec<i64>,
}

impl StatusRules {
    /// Whether an order that shows `status` is done with: nothing replaces it in the view, and
    /// a page following the order stops.
    pub fn is_completed(&self, status: i64) -> bool {
        self.completed.contains(&status)
    }

    /// Whether the watchdog stops watching an order that shows `status`: when it is completed,
    /// and also after `something_wrong`, after which nothing more will happen but a late event
    /// may still be folded in.
    pub fn stops_watchdog(&self, status: i64) -> bool {
        self.is_completed(status) || self.unwatched.contains(&status)
    }
}

/// Whether `incoming` may replace `current` in the materialised view.
///
/// Events reach the status service from several producers and may arrive late or twice, so
/// arrival order means nothing: the event time decides, and on a tie (an instant kitchen can
/// stamp two stages in the same millisecond) the later stage wins. A finished order stays
/// finished: nothing that arrives after delivery or cancellation reopens it. And finishing wins
/// whatever its time: after a crash or a broker restart a stage may be redone (its event read
/// again) after the order was delivered, and that redone stage is stamped later than the
/// delivery, which it must not hide.
pub fn supersedes(incoming: StatusAt, current: StatusAt, completed: &[i64]) -> bool {
    if completed.contains(&current.status) {
        return false;
    }
    if completed.contains(&incoming.status) {
        return true;
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
    fn delivery_wins_over_a_stage_redone_after_it() {
        assert!(supersedes(at(999, 30), at(300, 40), &DONE));
        assert!(supersedes(at(999, 30), at(50, 40), &DONE));
    }

    #[test]
    fn delivered_is_final() {
        assert!(!supersedes(at(50, 99), at(999, 30), &DONE));
        assert!(!supersedes(at(300, 99), at(999, 30), &DONE));
    }

    #[test]
    fn unknown_codes_show_the_else_label_with_the_code() {
        let codes = [50, 100, 150, 200, 300, 410, 430, 499, 999];
        let catalog = StatusCatalog::try_from_fn(
            |name| {
                let index = NAMES.iter().position(|n| *n == name).ok_or(name)?;
                Ok::<_, &str>(codes[index])
            },
            |name| {
                Ok(if name == "else" {
                    "Oops! Unknown status"
                } else {
                    &name[..1]
                }
                .to_owned())
            },
        )
        .expect("catalog");
        assert_eq!(catalog.ids.by_name("cancelled"), Some(499));
        assert_eq!(catalog.label(999), "d");
        assert_eq!(catalog.label(777), "Oops! Unknown status (777)");
    }

    fn status_event(json: &str) -> Result<StatusAt, String> {
        serde_json::from_str::<StatusEvent>(json)
            .map(|event| event.at)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_status_event_is_read_as_the_services_or_as_ksqldb_write_it() {
        assert_eq!(
            status_event(r#"{"status": 200, "timestamp": 7}"#),
            Ok(at(200, 7))
        );
        assert_eq!(
            status_event(r#"{"STATUS": 200, "TIMESTAMP": 7}"#),
            Ok(at(200, 7))
        );
        let mixed = status_event(r#"{"status": 200, "TIMESTAMP": 7}"#).expect_err("mixed");
        assert!(mixed.starts_with("missing field `timestamp`"), "{mixed}");
        let empty = status_event("{}").expect_err("empty");
        assert!(empty.starts_with("missing field `STATUS`"), "{empty}");
        let mistyped = status_event(r#"{"status": "done", "timestamp": 7}"#).expect_err("type");
        assert!(mistyped.starts_with("invalid type"), "{mistyped}");
    }

    #[test]
    fn only_pizza_status_is_read_in_upper_case() {
        let upper = serde_json::from_str::<StatusAt>(r#"{"STATUS": 200, "TIMESTAMP": 7}"#);
        assert!(upper.is_err());
    }
}
