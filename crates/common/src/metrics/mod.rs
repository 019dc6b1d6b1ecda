//! What a service tells Prometheus: the events it consumes, sends, handles, retries and
//! dead-letters, its consumer's own view of its partitions (librdkafka's statistics), and (the
//! status service) every group's lag as the broker sees it, named as kafka_exporter names it so
//! existing dashboards work, and counters a program declares for itself. One explicit registry
//! per process; nothing global. Labels are topics, partitions, outcomes and reason kinds, never an
//! order, a customer or a path: each has a handful of values.

mod client_stats;
mod server;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub(crate) use client_stats::ClientStats;
pub use server::{serve, ServeError, URL_MARKER};

use crate::domain::events::EventError;

/// Figures read from outside the process when scraped, and only then (the broker's view of
/// every group's lag: `kafka::BrokerLag`), so an idle shop nobody scrapes asks nothing.
#[async_trait]
pub trait Refreshed: Collector {
    /// Reads them again; after `patience` the scrape goes on with what was read before.
    async fn refresh(&self, patience: Duration);
}

/// A [`Refreshed`] collector in the registry, the same one [`Metrics::scrape`] refreshes.
#[derive(Debug)]
struct SharedCollector(Arc<dyn Refreshed>);

impl Collector for SharedCollector {
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }
}

/// How handling an event (one attempt of it) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Handled,
    DeadLettered,
    /// Failed for now (broker, database); tried again after a pause.
    Retried,
    /// Interrupted by shutdown, to be redone after a restart.
    Cancelled,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::DeadLettered => "dead_lettered",
            Outcome::Retried => "retried",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// Every value [`reason_kind`] gives.
const REASON_KINDS: [&str; 5] = [
    "missing_key",
    "bad_key",
    "missing_value",
    "bad_value",
    CONTRACT_REASON,
];

/// The reason kind of an event dead-lettered because what its handling sent broke a contract.
pub const CONTRACT_REASON: &str = "contract";

/// Where a value that breaks its topic's contract was caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaughtBy {
    /// This program's own check, before sending.
    Producer,
    /// The broker refused it (INVALID_RECORD), sent alone.
    Broker,
}

impl CaughtBy {
    pub const ALL: [CaughtBy; 2] = [CaughtBy::Producer, CaughtBy::Broker];

    pub fn as_str(self) -> &'static str {
        match self {
            CaughtBy::Producer => "producer",
            CaughtBy::Broker => "broker",
        }
    }
}

/// Why an event was dead-lettered, as a fixed kind: the free text stays in the log and in the
/// dead letter's `error.reason` header.
pub fn reason_kind(error: &EventError) -> &'static str {
    match error {
        EventError::MissingKey => "missing_key",
        EventError::BadKey(_) => "bad_key",
        EventError::MissingValue => "missing_value",
        EventError::BadValue(_) => "bad_value",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TopicLabels {
    messaging_destination_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ProcessLabels {
    messaging_destination_name: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ContractLabels {
    messaging_destination_name: String,
    caught_by: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DeadLetterLabels {
    messaging_destination_name: String,
    reason: &'static str,
}

/// Handling times range from a status folded in a millisecond to a delivery of half a minute
/// (the shop's slowest stage, doubled for a pending order): OpenTelemetry's default messaging
/// buckets, extended to a minute.
const PROCESS_BUCKETS: [f64; 17] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 30.0,
    60.0,
];

fn process_histogram() -> Histogram {
    Histogram::new(PROCESS_BUCKETS)
}

/// Every figure of one process; cheap to update (atomics behind a read lock per label set).
pub struct Metrics {
    registry: Registry,
    consumed: Family<TopicLabels, Counter>,
    sent: Family<TopicLabels, Counter>,
    process: Family<ProcessLabels, Histogram, fn() -> Histogram>,
    retries: Family<TopicLabels, Counter>,
    dead_letters: Family<DeadLetterLabels, Counter>,
    contract_violations: Family<ContractLabels, Counter>,
    in_flight: Family<TopicLabels, Gauge>,
    client: Arc<ClientStats>,
    refreshed: Option<Arc<dyn Refreshed>>,
    /// Counters one program declares for itself ([`crate::runtime::service::Service::COUNTERS`]).
    own: Vec<(&'static str, Counter)>,
    served: bool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    /// Counted but served nowhere (`[metrics] <service> = off`, tests that run a loop in-process).
    fn default() -> Self {
        Self::new(false, None)
    }
}

impl Metrics {
    /// `served`: whether a listener will publish them, which is when librdkafka's statistics are
    /// worth asking for. `refreshed`: figures read afresh for each scrape (the broker's view of
    /// the groups' lag).
    pub fn new(served: bool, refreshed: Option<Arc<dyn Refreshed>>) -> Self {
        let mut registry = Registry::default();
        let consumed = Family::<TopicLabels, Counter>::default();
        registry.register(
            "messaging_client_consumed_messages",
            "Events received from each topic, before handling",
            consumed.clone(),
        );
        let sent = Family::<TopicLabels, Counter>::default();
        registry.register(
            "messaging_client_sent_messages",
            "Events sent to each topic and acknowledged by the broker",
            sent.clone(),
        );
        let process = Family::<ProcessLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            process_histogram,
        );
        registry.register(
            "messaging_process_duration_seconds",
            "Time of each attempt at handling an event, by topic and outcome (handled, dead_lettered, retried, cancelled)",
            process.clone(),
        );
        let retries = Family::<TopicLabels, Counter>::default();
        registry.register(
            "pizza_handling_retries",
            "Attempts at handling an event that failed for now (broker, database) and are tried again",
            retries.clone(),
        );
        let dead_letters = Family::<DeadLetterLabels, Counter>::default();
        registry.register(
            "pizza_dead_letters",
            "Events that can never be handled, by the topic they came from and the reason's kind",
            dead_letters.clone(),
        );
        let contract_violations = Family::<ContractLabels, Counter>::default();
        registry.register(
            "pizza_contract_violations",
            "Events not sent because they break their topic's contract (schemas/), by topic and where that was caught (this program's check, or the broker)",
            contract_violations.clone(),
        );
        let in_flight = Family::<TopicLabels, Gauge>::default();
        registry.register(
            "pizza_events_in_flight",
            "Events received from each topic and not yet done with: in hand, not waiting",
            in_flight.clone(),
        );
        let client = Arc::new(ClientStats::default());
        client.register(&mut registry);
        if let Some(collector) = &refreshed {
            registry.register_collector(Box::new(SharedCollector(collector.clone())));
        }
        Self {
            registry,
            consumed,
            sent,
            process,
            retries,
            dead_letters,
            contract_violations,
            in_flight,
            client,
            refreshed,
            own: Vec::new(),
            served,
        }
    }

    /// Registers a program's own counters, each `(name, help)`; they start at 0, so the first
    /// increase is one Prometheus sees.
    pub fn with_counters(mut self, counters: &[(&'static str, &'static str)]) -> Self {
        for &(name, help) in counters {
            let counter = Counter::default();
            self.registry.register(name, help, counter.clone());
            self.own.push((name, counter));
        }
        self
    }

    /// Adds one to a counter declared with [`Self::with_counters`]; nothing when it was not (the
    /// program's metrics are off).
    pub fn count(&self, name: &str) {
        if let Some((_, counter)) = self.own.iter().find(|(n, _)| *n == name) {
            counter.inc();
        }
    }

    /// Where a program registers figures of its own beside the shared ones (the web app's
    /// requests and streams), before the metrics are shared.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Whether anyone can read these: the consumer asks librdkafka for statistics only then.
    pub fn served(&self) -> bool {
        self.served
    }

    /// Starts the counters of the topics a consumer reads at zero. A series that first appears
    /// at 1 is invisible to `increase()` and `rate()`, so without this the first dead letter or
    /// retry of a topic would raise no alert (`monitoring/alerts.yml`).
    pub fn reading(&self, topics: &[&str]) {
        for topic in topics {
            // Creating the series is the point; the guard each call returns is not needed.
            drop(self.consumed.get_or_create(&topic_labels(topic)));
            drop(self.retries.get_or_create(&topic_labels(topic)));
            drop(self.in_flight.get_or_create(&topic_labels(topic)));
            for reason in REASON_KINDS {
                let labels = DeadLetterLabels {
                    messaging_destination_name: (*topic).to_owned(),
                    reason,
                };
                drop(self.dead_letters.get_or_create(&labels));
            }
        }
    }

    /// Starts the contract counters of the topics a program writes at zero, as [`Self::reading`]
    /// does for those it reads.
    pub fn writing(&self, topics: &[&str]) {
        for topic in topics {
            for caught_by in CaughtBy::ALL {
                drop(self.contract_violations.get_or_create(&ContractLabels {
                    messaging_destination_name: (*topic).to_owned(),
                    caught_by: caught_by.as_str(),
                }));
            }
        }
    }

    pub fn contract_violation(&self, topic: &str, caught_by: CaughtBy) {
        let labels = ContractLabels {
            messaging_destination_name: topic.to_owned(),
            caught_by: caught_by.as_str(),
        };
        self.contract_violations.get_or_create(&labels).inc();
    }

    pub fn consumed(&self, topic: &str) {
        self.consumed.get_or_create(&topic_labels(topic)).inc();
    }

    pub fn sent(&self, topic: &str) {
        self.sent.get_or_create(&topic_labels(topic)).inc();
    }

    pub fn attempt(&self, topic: &str, outcome: Outcome, took: Duration) {
        let labels = ProcessLabels {
            messaging_destination_name: topic.to_owned(),
            outcome: outcome.as_str(),
        };
        self.process
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        if outcome == Outcome::Retried {
            self.retries.get_or_create(&topic_labels(topic)).inc();
        }
    }

    pub fn dead_lettered(&self, topic: &str, reason: &'static str) {
        let labels = DeadLetterLabels {
            messaging_destination_name: topic.to_owned(),
            reason,
        };
        self.dead_letters.get_or_create(&labels).inc();
    }

    /// Counts an event of `topic` as in flight until the returned guard is dropped, however its
    /// handling ends (a shutdown drops unfinished ones).
    pub fn in_flight(&self, topic: &str) -> InFlight {
        let gauge = self.in_flight.get_or_create(&topic_labels(topic)).clone();
        gauge.inc();
        InFlight(gauge)
    }

    pub(crate) fn client(&self) -> &Arc<ClientStats> {
        &self.client
    }

    /// The page a scrape returns, in the Prometheus text format. Asks the broker first (it
    /// blocks, so on the blocking pool), only now: an idle shop nobody scrapes asks nothing.
    /// After `patience` the page goes without the broker's figures from this round.
    pub async fn scrape(&self, patience: Duration) -> Result<String, std::fmt::Error> {
        if let Some(refreshed) = &self.refreshed {
            refreshed.refresh(patience).await;
        }
        let mut page = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut page, &self.registry)?;
        Ok(page)
    }
}

fn topic_labels(topic: &str) -> TopicLabels {
    TopicLabels {
        messaging_destination_name: topic.to_owned(),
    }
}

#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(metrics: &Metrics) -> String {
        let mut page = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut page, &metrics.registry)
            .expect("encodes");
        page
    }

    #[test]
    fn counts_by_topic_outcome_and_reason_kind() {
        let metrics = Metrics::default();
        metrics.consumed("pizza-ordered");
        metrics.consumed("pizza-ordered");
        metrics.sent("pizza-assembled");
        metrics.attempt("pizza-ordered", Outcome::Retried, Duration::from_millis(3));
        metrics.attempt("pizza-ordered", Outcome::Handled, Duration::from_millis(20));
        metrics.dead_lettered(
            "pizza-ordered",
            reason_kind(&EventError::BadValue("expected value at line 1".into())),
        );
        let page = page(&metrics);
        for line in [
            "messaging_client_consumed_messages_total{messaging_destination_name=\"pizza-ordered\"} 2",
            "messaging_client_sent_messages_total{messaging_destination_name=\"pizza-assembled\"} 1",
            "pizza_handling_retries_total{messaging_destination_name=\"pizza-ordered\"} 1",
            "pizza_dead_letters_total{messaging_destination_name=\"pizza-ordered\",reason=\"bad_value\"} 1",
            "messaging_process_duration_seconds_count{messaging_destination_name=\"pizza-ordered\",outcome=\"handled\"} 1",
            "messaging_process_duration_seconds_bucket{messaging_destination_name=\"pizza-ordered\",outcome=\"handled\",le=\"0.025\"} 1",
            "messaging_process_duration_seconds_bucket{messaging_destination_name=\"pizza-ordered\",outcome=\"handled\",le=\"0.01\"} 0",
            "# TYPE messaging_process_duration_seconds histogram",
        ] {
            assert!(page.lines().any(|l| l == line), "{line:?} not in:\n{page}");
        }
        assert!(!page.contains("line 1"), "free text never becomes a label");
    }

    #[test]
    fn a_read_topics_counters_start_at_zero() {
        let metrics = Metrics::default();
        metrics.reading(&["pizza-baked"]);
        let page = page(&metrics);
        let errors = [
            EventError::MissingKey,
            EventError::BadKey("x".into()),
            EventError::MissingValue,
            EventError::BadValue("x".into()),
        ];
        for reason in errors.iter().map(reason_kind) {
            let line = format!(
                "pizza_dead_letters_total{{messaging_destination_name=\"pizza-baked\",reason=\"{reason}\"}} 0"
            );
            assert!(page.lines().any(|l| l == line), "{line:?} not in:\n{page}");
        }
        for line in [
            "messaging_client_consumed_messages_total{messaging_destination_name=\"pizza-baked\"} 0",
            "pizza_handling_retries_total{messaging_destination_name=\"pizza-baked\"} 0",
        ] {
            assert!(page.lines().any(|l| l == line), "{line:?} not in:\n{page}");
        }
    }

    #[test]
    fn a_programs_own_counters_start_at_zero_and_count() {
        let metrics =
            Metrics::new(false, None).with_counters(&[("pizza_things", "Things that happened")]);
        assert!(page(&metrics).contains("pizza_things_total 0\n"));
        metrics.count("pizza_things");
        metrics.count("pizza_things");
        metrics.count("pizza_undeclared");
        let page = page(&metrics);
        assert!(page.contains("pizza_things_total 2\n"), "{page}");
        assert!(!page.contains("undeclared"), "{page}");
    }

    #[test]
    fn in_flight_counts_until_the_guard_goes() {
        let metrics = Metrics::default();
        let first = metrics.in_flight("pizza-baked");
        let second = metrics.in_flight("pizza-baked");
        let line = |n| {
            format!("pizza_events_in_flight{{messaging_destination_name=\"pizza-baked\"}} {n}\n")
        };
        assert!(page(&metrics).contains(&line(2)), "{}", page(&metrics));
        drop(first);
        drop(second);
        assert!(page(&metrics).contains(&line(0)));
    }
}
