//! How a batch of status events changes the view: a pure function of what the orders show and
//! the events, in their order. Every store loads the current statuses of the batch's orders
//! (locking them), calls [`fold`], and writes what it returns, all in one transaction, so every
//! store keeps the same rules.

use std::collections::HashMap;

use crate::StatusChange;
use common::domain::status::{supersedes, StatusAt, StatusRules};

/// What to write after folding a batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Folded {
    /// For each event, in order, what it did.
    pub changes: Vec<StatusChange>,
    /// The new status of every order that changed.
    pub statuses: Vec<(String, StatusAt)>,
    /// Orders the watchdog goes on watching, with the status they now show.
    pub watch: Vec<(String, i64)>,
    /// Orders that are finished: no longer watched.
    pub unwatch: Vec<String>,
}

/// Folds `events` into `current` (each order's status now; an order missing is unknown).
pub(crate) fn fold(
    mut current: HashMap<String, StatusAt>,
    events: &[(String, StatusAt)],
    rules: &StatusRules,
) -> Folded {
    let mut folded = Folded::default();
    let mut changed: Vec<&str> = Vec::new();
    for (order_id, incoming) in events {
        let change = match current.get_mut(order_id) {
            None => StatusChange::UnknownOrder,
            Some(shown) if !supersedes(*incoming, *shown, &rules.completed) => {
                StatusChange::Ignored {
                    current: shown.status,
                }
            }
            Some(shown) => {
                let previous = shown.status;
                *shown = *incoming;
                if !changed.contains(&order_id.as_str()) {
                    changed.push(order_id);
                }
                StatusChange::Updated { previous }
            }
        };
        folded.changes.push(change);
    }
    for order_id in changed {
        let now = current[order_id];
        folded.statuses.push((order_id.to_owned(), now));
        if rules.stops_watchdog(now.status) {
            folded.unwatch.push(order_id.to_owned());
        } else {
            folded.watch.push((order_id.to_owned(), now.status));
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(status: i64, timestamp: i64) -> StatusAt {
        StatusAt { status, timestamp }
    }

    fn rules() -> StatusRules {
        StatusRules {
            completed: vec![999, 499],
            unwatched: vec![430],
        }
    }

    #[test]
    fn a_batch_folds_in_order_and_writes_each_order_once() {
        let current = HashMap::from([("o".to_owned(), at(100, 10)), ("p".to_owned(), at(100, 10))]);
        let events = [
            ("o".to_owned(), at(200, 20)),
            ("nope".to_owned(), at(200, 20)),
            ("o".to_owned(), at(300, 30)),
            ("p".to_owned(), at(999, 40)),
            ("o".to_owned(), at(200, 21)),
            ("p".to_owned(), at(50, 99)),
        ];
        let folded = fold(current, &events, &rules());
        assert_eq!(
            folded.changes,
            [
                StatusChange::Updated { previous: 100 },
                StatusChange::UnknownOrder,
                StatusChange::Updated { previous: 200 },
                StatusChange::Updated { previous: 100 },
                StatusChange::Ignored { current: 300 },
                StatusChange::Ignored { current: 999 },
            ]
        );
        assert_eq!(
            folded.statuses,
            [("o".to_owned(), at(300, 30)), ("p".to_owned(), at(999, 40))]
        );
        assert_eq!(folded.watch, [("o".to_owned(), 300)]);
        assert_eq!(folded.unwatch, ["p"]);
    }

    #[test]
    fn something_wrong_is_no_longer_watched_but_can_still_change() {
        let current = HashMap::from([("o".to_owned(), at(200, 20))]);
        let folded = fold(current, &[("o".to_owned(), at(430, 25))], &rules());
        assert_eq!(folded.unwatch, ["o"]);
        let current = HashMap::from([("o".to_owned(), at(430, 25))]);
        let folded = fold(current, &[("o".to_owned(), at(300, 30))], &rules());
        assert_eq!(folded.watch, [("o".to_owned(), 300)]);
    }
}
