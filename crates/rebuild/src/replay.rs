//! The history folded into the stores' rows, by the rules the live services follow: an order's
//! details from its `pizza-ordered` event, its status from `pizza-status` folded with
//! [`supersedes`] (the status service's rule), delivery's memory from the early warning, the
//! baked notice, the pending notice and the delivered event. Events are decoded as the live
//! services decode them, so what they dead-letter is skipped here, and counted.
//!
//! Everything is held in memory (the whole program peaked at 160 MB for 100,000 orders in the
//! benchmark), which keeps a rebuild a single pass over each topic with no reads of the database.

use std::collections::{BTreeMap, HashMap, HashSet};

use common::domain::events::{
    decode, decode_key, EventError, OrderDetails, PizzaOrdered, StageEvent,
};
use common::domain::route::delivery_seconds;
use common::domain::status::{supersedes, StatusAt, StatusEvent, StatusRules};
use common::domain::topics::Topic;
use common::kafka::Record;
use common::settings::SysSettings;
use store::rebuild::{DeliveryRow, ViewRow};
use store::{hours_before, DeliveryState, OrderRecord};

/// The topics a rebuild reads, in the order it reads them: each order's `pizza-ordered` first,
/// so its statuses find it.
pub(crate) const TOPICS: [Topic; 5] = [
    Topic::Ordered,
    Topic::Status,
    Topic::Baked,
    Topic::Pending,
    Topic::Delivered,
];

/// Malformed events logged one by one, per topic; the rest are counted.
const MALFORMED_LOGGED: u64 = 5;

struct Order {
    placed_at: i64,
    details: OrderDetails,
    status: StatusAt,
}

#[derive(Default)]
struct Delivery {
    customer_id: Option<String>,
    baked: bool,
    late: bool,
    delivered: bool,
    updated_at: i64,
}

/// What the history held, for the report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Events read, per topic (in [`TOPICS`] order).
    pub(crate) read: [u64; 5],
    /// Events the live services dead-letter (no order id, or a value they cannot read).
    pub(crate) malformed: [u64; 5],
    /// The time of each topic's first event read (ms).
    pub(crate) first_at: [Option<i64>; 5],
    pub(crate) orders: u64,
    /// `pizza-ordered` events of an order already placed (the first one counts).
    pub(crate) placed_again: u64,
    /// Statuses that changed what their order showed.
    pub(crate) folded: u64,
    /// Statuses older than (or the same as) what their order showed: redeliveries, late events.
    pub(crate) older: u64,
    /// Statuses no `[status-id]` names, by code: folded like any other, as the live service does.
    pub(crate) unnamed_codes: BTreeMap<i64, u64>,
    /// `pizza-status` events by `written_by`; `None`: the original's services, ksqlDB, or this
    /// shop before version 2 of the contract.
    pub(crate) writers: BTreeMap<Option<String>, u64>,
    /// Early warnings whose customer id delivery cannot route (it dead-letters them).
    pub(crate) unroutable: u64,
}

pub(crate) struct Replay {
    rules: StatusRules,
    named_codes: HashSet<i64>,
    orders_kept_hours: f64,
    watches_kept_hours: f64,
    deliveries_kept_hours: f64,
    orders: HashMap<String, Order>,
    /// Statuses of orders whose `pizza-ordered` has not been read (yet, or at all).
    orphans: HashMap<String, Vec<StatusAt>>,
    deliveries: HashMap<String, Delivery>,
    dirty_orders: HashSet<String>,
    dirty_deliveries: HashSet<String>,
    tally: Tally,
}

impl Replay {
    pub(crate) fn new(sys: &SysSettings) -> Self {
        let named_codes = common::domain::status::NAMES
            .iter()
            .filter_map(|name| sys.status.ids.by_name(name))
            .collect();
        Self {
            rules: sys.orders_store.rules.clone(),
            named_codes,
            orders_kept_hours: sys.orders_store.table_orders_retention_hours,
            watches_kept_hours: sys.orders_store.table_status_retention_hours,
            deliveries_kept_hours: sys.delivery_store.table_customers_retention_hours,
            orders: HashMap::new(),
            orphans: HashMap::new(),
            deliveries: HashMap::new(),
            dirty_orders: HashSet::new(),
            dirty_deliveries: HashSet::new(),
            tally: Tally::default(),
        }
    }

    pub(crate) fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Folds one event of `kind`'s topic in.
    pub(crate) fn read(&mut self, kind: Topic, record: &Record) {
        let Some(slot) = TOPICS.iter().position(|t| *t == kind) else {
            return;
        };
        self.tally.read[slot] += 1;
        let at = record.time_ms.unwrap_or_default();
        let first = &mut self.tally.first_at[slot];
        *first = Some(first.map_or(at, |first| first.min(at)));
        if let Err(error) = self.apply(kind, record, at) {
            self.tally.malformed[slot] += 1;
            if self.tally.malformed[slot] <= MALFORMED_LOGGED {
                tracing::warn!(
                    "Skipped, as the live services skip it: topic '{}', partition #{}, offset #{}: malformed event: {error}",
                    record.topic,
                    record.partition,
                    record.offset
                );
            }
        }
    }

    fn apply(&mut self, kind: Topic, record: &Record, at: i64) -> Result<(), EventError> {
        let order_id = decode_key(record.key.as_deref())?;
        let value = record.value.as_deref();
        match kind {
            Topic::Ordered => self.placed(order_id, decode(value)?, at),
            Topic::Status => {
                let event: StatusEvent = decode(value)?;
                *self.tally.writers.entry(event.written_by).or_default() += 1;
                self.status(order_id, event.at);
            }
            Topic::Baked | Topic::Pending | Topic::Delivered => {
                let _stage: StatusAt = decode(value)?;
                let delivery = self.deliveries.entry(order_id.clone()).or_default();
                match kind {
                    Topic::Baked => delivery.baked = true,
                    // Delivery says "pending" when the pizza was baked before it heard whom it
                    // was for: the delivery then takes twice as long.
                    Topic::Pending => {
                        delivery.baked = true;
                        delivery.late = true;
                    }
                    _ => {
                        delivery.baked = true;
                        delivery.delivered = true;
                    }
                }
                delivery.updated_at = delivery.updated_at.max(at);
                self.dirty_deliveries.insert(order_id);
            }
            Topic::Assembled | Topic::DeadLetter => {}
        }
        Ok(())
    }

    fn placed(&mut self, order_id: String, placed: PizzaOrdered, at: i64) {
        if self.orders.contains_key(&order_id) {
            self.tally.placed_again += 1;
            return;
        }
        self.tally.orders += 1;
        let customer_id = &placed.order.customer_id;
        if delivery_seconds(customer_id, false).is_some() {
            let delivery = self.deliveries.entry(order_id.clone()).or_default();
            delivery
                .customer_id
                .get_or_insert_with(|| customer_id.clone());
            delivery.updated_at = delivery.updated_at.max(at);
            self.dirty_deliveries.insert(order_id.clone());
        } else {
            self.tally.unroutable += 1;
        }
        self.orders.insert(
            order_id.clone(),
            Order {
                placed_at: placed.timestamp,
                status: placed.status_at(),
                details: placed.order,
            },
        );
        self.dirty_orders.insert(order_id.clone());
        // Statuses read before their order: the live view never sees them first (the web app
        // stores an order before it sends it), so they fold in now, in the order they came.
        for status in self.orphans.remove(&order_id).unwrap_or_default() {
            self.status(order_id.clone(), status);
        }
    }

    fn status(&mut self, order_id: String, incoming: StatusAt) {
        if !self.named_codes.contains(&incoming.status) {
            *self.tally.unnamed_codes.entry(incoming.status).or_default() += 1;
        }
        let Some(order) = self.orders.get_mut(&order_id) else {
            self.orphans.entry(order_id).or_default().push(incoming);
            return;
        };
        if supersedes(incoming, order.status, &self.rules.completed) {
            order.status = incoming;
            self.tally.folded += 1;
            self.dirty_orders.insert(order_id);
        } else {
            self.tally.older += 1;
        }
    }

    /// The view's rows changed since the last call, as the view keeps them at `now_ms`: orders
    /// older than its retention left out, each watched from its last progress unless it is
    /// finished or its watch is older than the view keeps.
    pub(crate) fn view_rows(&mut self, now_ms: i64) -> Vec<ViewRow> {
        let orders_from = hours_before(now_ms, self.orders_kept_hours);
        let watches_from = hours_before(now_ms, self.watches_kept_hours);
        let mut rows = Vec::with_capacity(self.dirty_orders.len());
        for order_id in std::mem::take(&mut self.dirty_orders) {
            let Some(order) = self.orders.get(&order_id) else {
                continue;
            };
            if order.placed_at < orders_from {
                continue;
            }
            let since = order.status.timestamp;
            let watched = !self.rules.stops_watchdog(order.status.status) && since >= watches_from;
            rows.push(ViewRow {
                order: OrderRecord {
                    timestamp: order.placed_at,
                    details: order.details.clone(),
                    status: order.status,
                    order_id,
                },
                watched_since: watched.then_some(since),
            });
        }
        rows
    }

    /// Delivery's rows changed since the last call, as its store keeps them at `now_ms`.
    pub(crate) fn delivery_rows(&mut self, now_ms: i64) -> Vec<DeliveryRow> {
        let kept_from = hours_before(now_ms, self.deliveries_kept_hours);
        let mut rows = Vec::with_capacity(self.dirty_deliveries.len());
        for order_id in std::mem::take(&mut self.dirty_deliveries) {
            let Some(delivery) = self.deliveries.get(&order_id) else {
                continue;
            };
            if delivery.updated_at < kept_from {
                continue;
            }
            rows.push(DeliveryRow {
                order_id,
                state: DeliveryState {
                    customer_id: delivery.customer_id.clone(),
                    baked: delivery.baked,
                    late: delivery.late,
                    claimed_until: None,
                    delivered: delivery.delivered,
                },
                updated_at: delivery.updated_at,
            });
        }
        rows
    }

    /// Orders the history holds statuses of but not their `pizza-ordered` event (it begins
    /// after they were placed, or the event was malformed), and how many statuses: left out of
    /// the rebuilt view rather than invented.
    pub(crate) fn incomplete(&self) -> (usize, usize) {
        (
            self.orphans.len(),
            self.orphans.values().map(Vec::len).sum(),
        )
    }

    /// Orders read that are older than the view keeps.
    pub(crate) fn expired(&self, now_ms: i64) -> usize {
        let orders_from = hours_before(now_ms, self.orders_kept_hours);
        self.orders
            .values()
            .filter(|o| o.placed_at < orders_from)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use common::kafka::test_settings;

    const HOUR: i64 = 3_600_000;

    struct History {
        replay: Replay,
        offset: i64,
        now: i64,
    }

    impl History {
        fn new() -> Self {
            let now = common::domain::events::now_ms();
            let mut settings = test_settings();
            settings.sys.orders_store.table_orders_retention_hours = 4.0;
            settings.sys.orders_store.table_status_retention_hours = 2.0;
            Self {
                replay: Replay::new(&settings.sys),
                offset: 0,
                now,
            }
        }

        fn event(&mut self, kind: Topic, key: &str, value: &str) {
            self.offset += 1;
            let record = Record {
                topic: format!("{kind:?}"),
                partition: 0,
                offset: self.offset,
                time_ms: Some(self.now - HOUR + self.offset),
                key: Some(key.as_bytes().to_vec()),
                value: Some(value.as_bytes().to_vec()),
                headers: Vec::new(),
            };
            self.replay.read(kind, &record);
        }

        fn placed(&mut self, key: &str, customer: &str, at: i64) {
            let value = format!(
                r#"{{"status": 100, "timestamp": {at}, "order": {{"extra_toppings": ["Egg"],
                "customer_id": "{customer}", "name": "Italo", "sauce": "Tomato",
                "cheese": "Mozzarella", "main_topping": "Pork"}}}}"#
            );
            self.event(Topic::Ordered, key, &value);
        }

        fn status(&mut self, key: &str, status: i64, at: i64) {
            let value = format!(r#"{{"status": {status}, "timestamp": {at}}}"#);
            self.event(Topic::Status, key, &value);
        }

        fn view(&mut self) -> HashMap<String, (StatusAt, Option<i64>)> {
            self.replay
                .view_rows(self.now)
                .into_iter()
                .map(|r| (r.order.order_id, (r.order.status, r.watched_since)))
                .collect()
        }
    }

    fn at(status: i64, timestamp: i64) -> StatusAt {
        StatusAt { status, timestamp }
    }

    #[test]
    fn statuses_fold_by_the_live_rule_and_a_finished_order_is_no_longer_watched() {
        let mut history = History::new();
        let t = history.now - HOUR;
        history.placed("o", "d94a", t);
        history.status("o", 200, t + 10);
        history.status("o", 300, t + 20);
        history.status("o", 200, t + 10);
        history.placed("p", "d94a", t);
        history.status("p", 999, t + 30);
        history.status("p", 300, t + 40);
        assert_eq!(
            history.view(),
            HashMap::from([
                ("o".to_owned(), (at(300, t + 20), Some(t + 20))),
                ("p".to_owned(), (at(999, t + 30), None)),
            ])
        );
        let tally = history.replay.tally();
        assert_eq!((tally.folded, tally.older), (3, 2));
        assert_eq!(tally.writers.get(&None), Some(&5), "the original's events");
        assert!(history.view().is_empty(), "only what changed since");
    }

    #[test]
    fn a_status_read_before_its_order_waits_for_it_and_one_without_is_never_invented() {
        let mut history = History::new();
        let t = history.now - HOUR;
        history.status("early", 200, t + 10);
        history.status("gone", 300, t + 10);
        history.status("gone", 999, t + 20);
        history.placed("early", "d94a", t);
        assert_eq!(
            history.view(),
            HashMap::from([("early".to_owned(), (at(200, t + 10), Some(t + 10)))])
        );
        assert_eq!(history.replay.incomplete(), (1, 2));
    }

    #[test]
    fn poison_is_counted_and_skipped_and_unnamed_codes_fold_as_the_live_service_folds_them() {
        let mut history = History::new();
        let t = history.now - HOUR;
        history.placed("o", "d94a", t);
        history.event(Topic::Status, "o", r#"{"status": "baked"}"#);
        history.event(
            Topic::Status,
            "not an id!",
            r#"{"status": 200, "timestamp": 1}"#,
        );
        history.status("o", 777, t + 50);
        history.placed("o", "d94a", t + 1);
        let view = history.view();
        assert_eq!(view["o"].0, at(777, t + 50));
        let tally = history.replay.tally();
        assert_eq!(tally.malformed, [0, 2, 0, 0, 0]);
        assert_eq!(tally.read, [2, 3, 0, 0, 0]);
        assert_eq!(tally.unnamed_codes.get(&777), Some(&1));
        assert_eq!(tally.placed_again, 1);
    }

    #[test]
    fn what_the_view_no_longer_keeps_is_left_out() {
        let mut history = History::new();
        let long_ago = history.now - 5 * HOUR;
        history.placed("old", "d94a", long_ago);
        let watched_long_ago = history.now - 3 * HOUR;
        history.placed("quiet", "d94a", watched_long_ago);
        let view = history.view();
        assert!(
            !view.contains_key("old"),
            "older than the 4 hours orders are kept"
        );
        assert_eq!(
            view["quiet"].1, None,
            "its watch is older than the 2 hours watches are kept"
        );
        assert_eq!(history.replay.expired(history.now), 1);
    }

    #[test]
    fn delivery_remembers_the_customer_the_bake_the_wait_and_the_door() {
        let mut history = History::new();
        let t = history.now - HOUR;
        history.placed("on-time", "d94a", t);
        history.event(
            Topic::Baked,
            "on-time",
            r#"{"status": 300, "timestamp": 1}"#,
        );
        history.event(
            Topic::Delivered,
            "on-time",
            r#"{"status": 999, "timestamp": 2}"#,
        );
        history.event(Topic::Baked, "late", r#"{"status": 300, "timestamp": 1}"#);
        history.event(Topic::Pending, "late", r#"{"status": 150, "timestamp": 1}"#);
        history.placed("late", "d94a", t);
        history.placed("lost", "not hex", t);
        let rows: HashMap<String, DeliveryState> = history
            .replay
            .delivery_rows(history.now)
            .into_iter()
            .map(|r| (r.order_id, r.state))
            .collect();
        let state = |baked, late, delivered| DeliveryState {
            customer_id: Some("d94a".into()),
            baked,
            late,
            claimed_until: None,
            delivered,
        };
        assert_eq!(
            rows,
            HashMap::from([
                ("on-time".to_owned(), state(true, false, true)),
                ("late".to_owned(), state(true, true, false)),
            ])
        );
        assert_eq!(history.replay.tally().unroutable, 1);
    }
}
