//! The consume → handle → produce → store-offset loop, written once for every service.
//!
//! Events are handled concurrently (a bake that takes seconds does not hold up the next order),
//! up to a bound, while offsets are stored strictly in the order events were received, and only
//! once an event is fully handled: librdkafka commits the stored offsets in the background, so
//! a crash redoes unfinished work instead of losing it (at least once).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesOrdered, StreamExt};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::context::ServiceContext;
use super::dead_letter::{contract_headers, dead_letter};
use super::offsets::{OffsetTracker, Position};
use crate::domain::topics::Topic;
use crate::kafka::rebalance::RebalanceLogger;
use crate::kafka::{consumer_config, event_log, HandleError, Inbound};
use crate::metrics::{reason_kind, Outcome, CONTRACT_REASON};
use crate::runtime::backoff::Backoff;
use crate::runtime::logging::error_chain;
use crate::settings::set_default;

/// A service's own part: what to do with one event. Everything else is the loop's.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, event: &Inbound) -> impl Future<Output = Result<(), HandleError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("{0} consumes nothing; it has no consumer group")]
    NoGroup(&'static str),
    #[error("cannot create the Kafka consumer")]
    Create(#[source] KafkaError),
    #[error("cannot subscribe to {topics}")]
    Subscribe {
        topics: String,
        #[source]
        source: KafkaError,
    },
}

/// Events handled at once by one instance; past this the loop stops polling until one finishes.
const MAX_IN_FLIGHT: usize = 256;
/// librdkafka's statistics, when metrics are served: often enough for a lag graph, rare enough
/// that an idle shop stays quiet (each report is a JSON document of every partition it knows).
const STATISTICS_INTERVAL_MS: &str = "10000";
/// How long a shutdown waits for events already being handled before leaving them uncommitted.
const DRAIN_PATIENCE: Duration = Duration::from_secs(3);

/// Subscribes the service's consumer group to `topics` and feeds every event to `handler` until
/// shutdown.
pub async fn run_consumer<H: Handler>(
    ctx: Arc<ServiceContext>,
    topics: &[Topic],
    handler: Arc<H>,
) -> Result<(), RunnerError> {
    let sys = ctx.sys();
    let group_id = sys
        .group_ids
        .of(ctx.name)
        .ok_or(RunnerError::NoGroup(ctx.name.as_str()))?;
    let client_id = sys.client_ids.of(ctx.name);
    let names = sys.topics.names(topics);
    let mut config = consumer_config(&ctx.settings.kafka, group_id, client_id);
    let context = if ctx.metrics.served() {
        set_default(
            &mut config,
            "statistics.interval.ms",
            STATISTICS_INTERVAL_MS,
        );
        RebalanceLogger::with_stats(ctx.metrics.client().clone())
    } else {
        RebalanceLogger::default()
    };
    let consumer: Arc<StreamConsumer<RebalanceLogger>> = Arc::new(
        config
            .create_with_context(context)
            .map_err(RunnerError::Create)?,
    );
    consumer
        .subscribe(&names)
        .map_err(|source| RunnerError::Subscribe {
            topics: names.join(", "),
            source,
        })?;
    tracing::info!("Subscribed to topic(s): {}", names.join(", "));
    ctx.metrics.reading(&names);

    let mut offsets = OffsetTracker::default();
    let mut in_flight = FuturesOrdered::new();
    loop {
        tokio::select! {
            biased;
            () = ctx.shutdown.cancelled() => break,
            Some((position, handled)) = in_flight.next(), if !in_flight.is_empty() => {
                store(&consumer, &mut offsets, position, handled);
            }
            received = consumer.recv(), if in_flight.len() < MAX_IN_FLIGHT => match received {
                Ok(message) => {
                    // Only subscribed topics arrive, and each is one of the shop's.
                    let Some(kind) = sys.topics.topic(message.topic()) else {
                        continue;
                    };
                    let event = Inbound::from_message(kind, &message);
                    event_log::received(&event);
                    ctx.metrics.consumed(&event.topic);
                    in_flight.push_back(process(ctx.clone(), handler.clone(), event));
                }
                Err(error) => {
                    tracing::warn!("Kafka consumer error: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }

    tracing::info!("Starting graceful shutdown...");
    let pending = in_flight.len();
    let drained = tokio::time::timeout(DRAIN_PATIENCE, async {
        while let Some((position, handled)) = in_flight.next().await {
            store(&consumer, &mut offsets, position, handled);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} of {pending} event(s) in flight left uncommitted; they are redone after restart",
            in_flight.len()
        );
    }
    commit(&consumer, &offsets);
    tracing::info!("Closing consumer in consumer group...");
    // Dropping the consumer leaves the group, so its partitions move to another member at once
    // instead of after the session timeout. It blocks while librdkafka says goodbye.
    let closed = tokio::task::spawn_blocking(move || drop(consumer)).await;
    if closed.is_ok() {
        tracing::info!("Consumer in consumer group successfully closed");
    }
    Ok(())
}

/// Handles one event to the end: retried while the failure is transient, dead-lettered when it
/// can never succeed. Returns whether the offset may be stored.
async fn process<H: Handler>(
    ctx: Arc<ServiceContext>,
    handler: Arc<H>,
    event: Inbound,
) -> (Position, bool) {
    let position = (event.topic.clone(), event.partition, event.offset);
    let _in_flight = ctx.metrics.in_flight(&event.topic);
    let attempt = |outcome: Outcome, started: Instant| {
        ctx.metrics
            .attempt(&event.topic, outcome, started.elapsed());
    };
    let mut backoff = Backoff::default();
    loop {
        let started = Instant::now();
        let failure = match handler.handle(&event).await {
            Ok(()) => {
                attempt(Outcome::Handled, started);
                return (position, true);
            }
            Err(HandleError::Cancelled) => {
                attempt(Outcome::Cancelled, started);
                return (position, false);
            }
            Err(HandleError::Malformed(reason)) => {
                let key = event
                    .key
                    .as_deref()
                    .map(|key| crate::runtime::logging::quote_safe(&String::from_utf8_lossy(key)))
                    .unwrap_or_default();
                tracing::error!(
                    "Malformed event skipped: {}, key '{key}': {reason}",
                    event.origin()
                );
                let reason_text = reason.to_string();
                match dead_letter(&ctx, &event, &reason_text, Vec::new()).await {
                    Ok(()) => {
                        attempt(Outcome::DeadLettered, started);
                        ctx.metrics
                            .dead_lettered(&event.topic, reason_kind(&reason));
                        return (position, true);
                    }
                    Err(error) => format!("cannot dead-letter it: {}", error_chain(&error)),
                }
            }
            Err(HandleError::Contract {
                topic,
                violation,
                caught_by,
            }) => {
                // The producer has said what broke which contract, as an error.
                tracing::warn!(
                    "Event skipped, as what its handling sends breaks the contract of topic '{topic}': {}",
                    event.origin()
                );
                let headers = contract_headers(&topic, &violation, caught_by);
                match dead_letter(&ctx, &event, CONTRACT_REASON, headers).await {
                    Ok(()) => {
                        attempt(Outcome::DeadLettered, started);
                        ctx.metrics.dead_lettered(&event.topic, CONTRACT_REASON);
                        return (position, true);
                    }
                    Err(error) => format!("cannot dead-letter it: {}", error_chain(&error)),
                }
            }
            Err(HandleError::Transient(error)) => error_chain(error.as_ref()),
        };
        attempt(Outcome::Retried, started);
        tracing::warn!(
            "Handling {} failed, retrying in {:?}: {failure}",
            event.origin(),
            backoff.pause()
        );
        if !backoff.wait(&ctx.shutdown).await {
            return (position, false);
        }
    }
}

/// Hands an event's offset to librdkafka if the tracker allows it.
fn store(
    consumer: &StreamConsumer<RebalanceLogger>,
    offsets: &mut OffsetTracker,
    position: Position,
    handled: bool,
) {
    if !offsets.finished(&position, handled) {
        return;
    }
    let (topic, partition, offset) = &position;
    // Fails only for a partition this member no longer owns after a rebalance; its new owner
    // receives the event again from the last commit, and handling is idempotent.
    match consumer.store_offset(topic, *partition, *offset) {
        Ok(()) => offsets.stored(&position),
        Err(error) => tracing::debug!("Offset {offset} of {topic}/{partition} not stored: {error}"),
    }
}

/// Commits what was stored, synchronously, before the consumer leaves its group.
fn commit(consumer: &StreamConsumer<RebalanceLogger>, offsets: &OffsetTracker) {
    let mut list = TopicPartitionList::new();
    for (topic, partition, next) in offsets.next_offsets() {
        if let Err(error) = list.add_partition_offset(topic, partition, Offset::Offset(next)) {
            tracing::warn!("Cannot list offset of {topic}/{partition}: {error}");
        }
    }
    if list.count() == 0 {
        return;
    }
    match consumer.commit(&list, CommitMode::Sync) {
        Ok(()) => tracing::info!("Committed offsets of {} partition(s)", list.count()),
        Err(error) => tracing::warn!(
            "Final commit failed ({error}); uncommitted events are redone after restart"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::PizzaAssembled;
    use crate::domain::status::StatusAt;
    use crate::domain::wiring::ServiceName;
    use crate::kafka::{test_settings, RecordingSink, Sent};

    /// Reads its events as the kitchen services do: the key, then the value.
    struct Reads;

    impl Handler for Reads {
        async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
            event.order_id()?;
            let _: StatusAt = event.decode()?;
            Ok(())
        }
    }

    fn baked(key: &[u8], payload: &[u8]) -> Inbound {
        Inbound {
            kind: Topic::Baked,
            topic: "pizza-baked".into(),
            partition: 3,
            offset: 42,
            key: Some(key.to_vec()),
            payload: Some(payload.to_vec()),
        }
    }

    fn context() -> (Arc<ServiceContext>, Arc<RecordingSink>) {
        ServiceContext::recording(ServiceName::Delivery, test_settings())
    }

    /// `reason`: how the `error.reason` header starts (the rest is serde's wording).
    fn assert_dead_letter(letter: &Sent, key: &str, payload: &[u8], reason: &str) {
        assert_eq!(letter.topic, "pizza-dead-letter");
        assert_eq!(letter.key, key);
        assert_eq!(letter.payload, payload);
        let said = letter.header("error.reason").unwrap_or_default();
        assert!(said.starts_with(reason), "{said:?}");
        let headers: Vec<(&str, &str)> = letter
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers[1..],
            [
                ("error.service", "delivery"),
                ("error.topic", "pizza-baked"),
                ("error.partition", "3"),
                ("error.offset", "42"),
            ]
        );
    }

    #[tokio::test]
    async fn a_handled_event_sends_nothing_of_the_loops_own_and_may_be_committed() {
        let (ctx, sink) = context();
        let event = baked(b"order-1", br#"{"status": 300, "timestamp": 1}"#);
        let done = process(ctx, Arc::new(Reads), event).await;
        assert_eq!(done, (("pizza-baked".into(), 3, 42), true));
        assert_eq!(sink.sent(), []);
    }

    #[tokio::test]
    async fn a_malformed_event_is_dead_lettered_with_its_origin_and_its_order_marked() {
        let (ctx, sink) = context();
        let event = baked(b"order-1", b"not json");
        let done = process(ctx.clone(), Arc::new(Reads), event).await;
        assert_eq!(done, (("pizza-baked".into(), 3, 42), true));

        let sent = sink.sent();
        assert_eq!(sent.len(), 2, "{sent:?}");
        let reason = "the value is not a valid event: ";
        assert_dead_letter(&sent[0], "order-1", b"not json", reason);
        assert_eq!(sent[1].topic, "pizza-status");
        assert_eq!(sent[1].key, "order-1");
        assert_eq!(sent[1].json()["status"], 430);

        let page = ctx.metrics.scrape(Duration::ZERO).await.expect("encodes");
        let counted = "pizza_dead_letters_total{messaging_destination_name=\"pizza-baked\",reason=\"bad_value\"} 1";
        assert!(page.contains(counted), "{page}");
    }

    #[tokio::test]
    async fn an_event_without_an_order_id_is_dead_lettered_and_no_order_is_marked() {
        let (ctx, sink) = context();
        let event = baked(b"not an order id", br#"{"status": 300, "timestamp": 1}"#);
        let done = process(ctx, Arc::new(Reads), event).await;
        assert!(done.1);
        let sent = sink.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        let reason = "the key is not an order id: not an order id";
        assert_dead_letter(
            &sent[0],
            "not an order id",
            br#"{"status": 300, "timestamp": 1}"#,
            reason,
        );
    }

    #[tokio::test]
    async fn without_a_dead_letter_topic_the_order_is_still_marked() {
        let (ctx, sink) = context();
        let mut ctx = Arc::into_inner(ctx).expect("the only reference");
        ctx.dead_letter_topic = None;
        let done = process(Arc::new(ctx), Arc::new(Reads), baked(b"order-1", b"{}")).await;
        assert!(done.1);
        let sent = sink.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].topic, "pizza-status");
        assert_eq!(sent[0].json()["status"], 430);
    }

    /// Announces a bake no pizza can have: a bug of ours, which the contract catches.
    struct Overbakes(Arc<ServiceContext>);

    impl Handler for Overbakes {
        async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
            let order_id = event.order_id()?;
            let assembled = PizzaAssembled {
                status: 200,
                baking_time: 99_999,
                timestamp: 1,
            };
            self.0.emit(Topic::Assembled, &order_id, &assembled).await
        }
    }

    #[tokio::test]
    async fn an_event_whose_handling_breaks_a_contract_is_dead_lettered_with_the_rule() {
        let (ctx, sink) = context();
        let event = baked(b"order-1", br#"{"status": 300, "timestamp": 1}"#);
        let done = process(ctx.clone(), Arc::new(Overbakes(ctx.clone())), event).await;
        assert_eq!(done, (("pizza-baked".into(), 3, 42), true));

        let sent = sink.sent();
        assert_eq!(
            sent.len(),
            2,
            "nothing of the broken event, then two: {sent:?}"
        );
        let letter = &sent[0];
        assert_eq!(letter.topic, "pizza-dead-letter");
        assert_eq!(letter.payload, br#"{"status": 300, "timestamp": 1}"#);
        assert_eq!(letter.header("error.reason"), Some("contract"));
        assert_eq!(letter.header("error.contract"), Some("pizza-assembled"));
        assert_eq!(letter.header("error.caught_by"), Some("producer"));
        let rule = letter.header("error.rule").unwrap_or_default();
        assert!(
            rule.starts_with("pizza-assembled.json: /baking_time: 99999 is greater than"),
            "{rule}"
        );
        assert_eq!(sent[1].topic, "pizza-status");
        assert_eq!(sent[1].json()["status"], 430);

        let page = ctx.metrics.scrape(Duration::ZERO).await.expect("encodes");
        let counted = "pizza_dead_letters_total{messaging_destination_name=\"pizza-baked\",reason=\"contract\"} 1";
        assert!(page.contains(counted), "{page}");
    }

    #[tokio::test]
    async fn a_dead_letter_the_broker_refuses_keeps_the_offset_until_shutdown() {
        let (ctx, sink) = context();
        sink.fail("pizza-dead-letter");
        ctx.shutdown.cancel();
        let done = process(ctx, Arc::new(Reads), baked(b"order-1", b"not json")).await;
        assert_eq!(done, (("pizza-baked".into(), 3, 42), false));
        assert_eq!(sink.sent(), []);
    }
}
