//! The local broker skips offsets under concurrent producers, and the consume loop gets them
//! anyway (`[local-broker] reread_skipped_offsets`, `crates/common/src/kafka/skipped_offsets.rs`).
//!
//! Several producers write to one partition at once while two readers follow it at its end: a
//! plain consumer, which shows the broker handing out a later batch before an earlier one (the
//! earlier one never comes), and the shop's consume loop, which must handle every offset. Should
//! the plain consumer ever stop seeing skips, the broker has been fixed and the workaround can go.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{run_consumer, HandleError, Handler, Inbound};
use common::runtime::context::ServiceContext;
use pizza_tests::{gate, Broker, Shop};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

const PRODUCERS: usize = 4;
/// Events each producer has on its way at once: concurrent batches are what the broker mixes up.
const IN_FLIGHT: usize = 32;
const PRODUCING: Duration = Duration::from_secs(10);
/// Rounds of [`PRODUCING`] at most before the broker is taken to skip no more.
const ROUNDS: usize = 6;

/// Remembers every offset it is handed.
#[derive(Default)]
struct Handled(Mutex<BTreeSet<i64>>);

impl Handler for Handled {
    async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(event.offset);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_consume_loop_handles_every_offset_the_broker_skipped() {
    // Whether the broker mixes batches up depends on how the producers' requests interleave;
    // other tests' services on the same cores change that, so it runs alone.
    let _alone = gate::alone();
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[("kafka-topic-config", "num_partitions", "1")]).await;
    assert!(shop.kafka.workarounds.reread_skipped_offsets);
    let topic = shop.sys.topics.status.clone();

    let shutdown = CancellationToken::new();
    let ctx = ServiceContext::connect(ServiceName::Status, shop.settings(), &[], shutdown.clone())
        .await
        .expect("connected");
    let handled = Arc::new(Handled::default());
    let consuming = tokio::spawn(run_consumer(ctx, &[Topic::Status], handled.clone()));
    let kafka = shop
        .kafka
        .client_config(common::settings::ClientRole::Consumer);
    // The broker mixes batches up often, not always: rounds of producing go on until a plain
    // consumer has missed some, so the loop is shown to get offsets that were really skipped.
    let (mut sent, mut skips) = (0, Vec::new());
    for round in 1..=ROUNDS {
        let following = std::thread::spawn({
            let (kafka, topic) = (kafka.clone(), topic.clone());
            move || skips_seen_by_a_plain_consumer(kafka, &topic, sent)
        });
        // Both readers hold the partition, at its end, before anything more is written.
        tokio::time::sleep(Duration::from_secs(2)).await;
        sent += produce_concurrently(&broker.bootstrap(), &topic).await;
        skips = following.join().expect("the plain consumer");
        if !skips.is_empty() {
            break;
        }
        eprintln!("round {round}: {sent} events so far, none skipped yet");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let got = handled.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let missing: Vec<i64> = (0..sent).filter(|o| !got.contains(o)).collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    shutdown.cancel();
    consuming
        .await
        .expect("the loop's task")
        .expect("the loop ends cleanly");

    eprintln!("{sent} events; a plain consumer missed {skips:?}");
    assert!(
        !skips.is_empty(),
        "the broker skipped no offsets for a plain consumer in {ROUNDS} rounds: if it never does \
         any more, [local-broker] reread_skipped_offsets and its module can go"
    );
    assert!(
        missing.is_empty(),
        "the consume loop never handled {} of {sent} offsets: {:?}",
        missing.len(),
        &missing[..missing.len().min(20)]
    );
}

/// Writes to partition 0 of `topic` from several producers at once, each with many events on
/// their way, for [`PRODUCING`]; returns how many the broker acknowledged (that many offsets
/// from the partition's end).
async fn produce_concurrently(bootstrap: &str, topic: &str) -> i64 {
    let started = Instant::now();
    let producers = (0..PRODUCERS).map(|n| {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("linger.ms", "1")
            .create()
            .expect("producer");
        let topic = topic.to_owned();
        tokio::spawn(async move {
            let mut acknowledged = 0;
            while started.elapsed() < PRODUCING {
                let sends = (0..IN_FLIGHT).map(|i| {
                    let key = format!("{n}-{i}");
                    let producer = producer.clone();
                    let topic = topic.clone();
                    async move {
                        let record = FutureRecord::to(&topic)
                            .key(&key)
                            .payload(r#"{"status":100,"timestamp":1}"#)
                            .partition(0);
                        producer.send(record, Duration::from_secs(10)).await.is_ok()
                    }
                });
                acknowledged += futures::future::join_all(sends)
                    .await
                    .into_iter()
                    .filter(|ok| *ok)
                    .count();
            }
            acknowledged
        })
    });
    let mut sent = 0;
    for producing in producers.collect::<Vec<_>>() {
        sent += producing.await.expect("a producer task");
    }
    i64::try_from(sent).expect("a count of events")
}

/// The offsets a plain consumer never received while following `topic` from `from` to a quiet
/// end: each skip as (first, last).
fn skips_seen_by_a_plain_consumer(
    mut config: ClientConfig,
    topic: &str,
    from: i64,
) -> Vec<(i64, i64)> {
    config
        .set("group.id", "pizza-tests-follower")
        .set("fetch.wait.max.ms", "10");
    let consumer: BaseConsumer = config.create().expect("consumer");
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, 0, Offset::Offset(from))
        .expect("partition");
    consumer.assign(&list).expect("assigned");
    let mut next = from;
    let mut skips = Vec::new();
    let mut quiet_since = Instant::now();
    let started = Instant::now();
    let quiet = Duration::from_secs(3);
    while (next == from || quiet_since.elapsed() < quiet) && started.elapsed() < PRODUCING * 4 {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(10)) {
            if message.offset() > next {
                skips.push((next, message.offset() - 1));
            }
            next = next.max(message.offset() + 1);
            quiet_since = Instant::now();
        }
    }
    skips
}
