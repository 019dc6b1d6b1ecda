//! What the shop's patch to the local broker (broker/nisshi.patch, docs/broker.md) promises,
//! shown with plain clients rather than the shop's, so each test fails against nisshi 0.8.1 as
//! published (`NISSHI=/path/to/unpatched/nisshi` runs them on another build):
//! - a fetch held for a long `fetch.wait.max.ms` answers as soon as an event lands, not after a
//!   share of the wait;
//! - a consumer following a partition that several producers write at once gets every offset:
//!   a later batch is never handed out before an earlier one is written.
//!
//! A fetch reads the batches one after another from the first offset of a batch, instead of
//! listing every batch of the partition; the last test shows that a consumer starting inside a
//! batch (the one case that still lists) gets the rest of it and everything after, in order.

use std::time::{Duration, Instant};

use pizza_tests::{gate, Broker, Shop};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// A consumer's wait, long enough that an answer at a fraction of it is unmistakable.
const LONG_WAIT: Duration = Duration::from_secs(5);
/// How soon an event must reach a consumer waiting that long: a tenth of the wait. Unpatched,
/// the broker looks again after half of what is left of the wait, so an event waits about a
/// quarter of it, and five in a row all under a tenth is next to impossible.
const PROMPT: Duration = Duration::from_millis(500);

/// A consumer of partition 0 of `topic` from `offset`, with `wait` as its fetch.wait.max.ms.
fn follower(broker: &Broker, topic: &str, offset: Offset, wait: Duration) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "pizza-tests-follower")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", wait.as_millis().to_string())
        .create()
        .expect("consumer");
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, 0, offset)
        .expect("partition");
    consumer.assign(&list).expect("assigned");
    consumer
}

fn producer(broker: &Broker) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("linger.ms", "1")
        .create()
        .expect("producer")
}

/// Creates `topic` with one partition.
async fn create_topic(broker: &Broker, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .expect("admin client");
    let created = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .expect("asked");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
}

/// A `pizza-status` value that meets its contract.
const STATUS: &str = r#"{"status": 100, "timestamp": 1}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_fetch_held_for_seconds_answers_as_soon_as_an_event_lands() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[("kafka-topic-config", "num_partitions", "1")]).await;
    let topic = shop.sys.topics.status.clone();
    let producer = producer(&broker);
    let (arrived, mut arrivals) = tokio::sync::mpsc::channel::<Instant>(8);
    let following = std::thread::spawn({
        let consumer = follower(&broker, &topic, Offset::End, LONG_WAIT);
        move || {
            for _ in 0..5 {
                loop {
                    if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
                        arrived
                            .blocking_send(Instant::now())
                            .expect("the test listens");
                        break;
                    }
                }
            }
        }
    });
    let mut took = Vec::new();
    for round in 0..5_u32 {
        // The consumer's fetch is held by now, some way into its wait.
        tokio::time::sleep(Duration::from_millis(1_200) + Duration::from_millis(170) * round).await;
        let sent = Instant::now();
        producer
            .send(
                FutureRecord::to(&topic).key("a1b2c3d4").payload(STATUS),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("produced");
        let arrival = tokio::time::timeout(LONG_WAIT * 2, arrivals.recv())
            .await
            .expect("the event arrived within two waits")
            .expect("the follower runs");
        took.push(arrival.saturating_duration_since(sent));
    }
    following.join().expect("the follower");
    eprintln!("an event reached a consumer waiting {LONG_WAIT:?} in {took:?}");
    for (round, took) in took.iter().enumerate() {
        assert!(
            *took < PROMPT,
            "event {round} took {took:?} to reach a consumer waiting {LONG_WAIT:?} (all: the \
             broker does not answer a held fetch when an event lands)"
        );
    }
}

const PRODUCERS: usize = 4;
/// Events each producer has on their way at once: concurrent batches are what the unpatched
/// broker mixed up.
const IN_FLIGHT: usize = 32;
const PRODUCING: Duration = Duration::from_secs(10);
/// Rounds of [`PRODUCING`]: unpatched, the broker skipped in most rounds, not all.
const ROUNDS: usize = 3;

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_gets_every_offset_while_several_producers_write_one_partition() {
    // How the producers' requests interleave decides whether batches can be mixed up; other
    // tests' services on the same cores change that, so it runs alone.
    let _alone = gate::alone();
    let broker = Broker::start();
    for round in 1..=ROUNDS {
        // A partition of its own each round, so each round's consumer follows it from empty.
        let topic = format!("writes-at-once-{round}");
        create_topic(&broker, &topic).await;
        let following = std::thread::spawn({
            // Looking often, as a caught-up consumer does, is what met the mixed-up batches.
            let consumer = follower(
                &broker,
                &topic,
                Offset::Beginning,
                Duration::from_millis(10),
            );
            move || offsets_received(&consumer, 0)
        });
        // The follower holds the partition before anything is written.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let written = produce_concurrently(&broker, &topic).await;
        let (received, skips) = following.join().expect("the follower");
        eprintln!("round {round}: {written} events written, {received} received");
        assert!(
            skips.is_empty(),
            "round {round}: a consumer never got offsets {skips:?} (the broker handed out a \
             later batch before an earlier one)"
        );
        assert_eq!(
            received, written,
            "round {round}: every offset up to the end"
        );
    }
}

/// Writes to partition 0 of `topic` from several producers at once, each with many events on
/// their way, for [`PRODUCING`]; returns how many the broker acknowledged.
async fn produce_concurrently(broker: &Broker, topic: &str) -> i64 {
    let started = Instant::now();
    let producers = (0..PRODUCERS).map(|n| {
        let producer = producer(broker);
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
                            .payload(STATUS)
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

/// Follows the partition from `from` until it has been quiet for 3 s: the next offset to read
/// (the end, when nothing was skipped) and each skip as (first, last).
fn offsets_received(consumer: &BaseConsumer, from: i64) -> (i64, Vec<(i64, i64)>) {
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
    (next, skips)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_starting_inside_a_batch_gets_the_rest_of_it_and_every_batch_after() {
    let broker = Broker::start();
    let topic = "inside-a-batch";
    create_topic(&broker, topic).await;
    // Ten events sent at once by a producer that waits for company: one batch, offsets 0 to 9.
    let gathering: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("linger.ms", "500")
        .create()
        .expect("producer");
    let sends = (0..10).map(|i| {
        let key = i.to_string();
        let gathering = gathering.clone();
        async move {
            let record = FutureRecord::to(topic)
                .key(&key)
                .payload(STATUS)
                .partition(0);
            gathering
                .send(record, Duration::from_secs(10))
                .await
                .map(|delivered| delivered.offset)
                .map_err(|(error, _)| error)
        }
    });
    let offsets: Vec<i64> = futures::future::try_join_all(sends)
        .await
        .expect("the batch acknowledged");
    assert_eq!(offsets.iter().min(), Some(&0));
    assert_eq!(offsets.iter().max(), Some(&9));
    // Then three batches of one event each: offsets 10, 11 and 12.
    let single = producer(&broker);
    for i in 10..13 {
        let key = i.to_string();
        let record = FutureRecord::to(topic)
            .key(&key)
            .payload(STATUS)
            .partition(0);
        let delivered = single
            .send(record, Duration::from_secs(10))
            .await
            .expect("acknowledged");
        assert_eq!(delivered.offset, i);
    }
    for from in [4, 0, 10, 12] {
        let consumer = follower(
            &broker,
            topic,
            Offset::Offset(from),
            Duration::from_millis(100),
        );
        let mut received = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while received.last() != Some(&12) && Instant::now() < deadline {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
                received.push(message.offset());
            }
        }
        assert_eq!(
            received,
            (from..13).collect::<Vec<_>>(),
            "a consumer starting at offset {from}"
        );
    }
}
