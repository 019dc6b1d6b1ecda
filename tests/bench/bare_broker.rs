//! The broker's own limit, as a yardstick for the shop: the same events per order (an order and
//! its status; assembled, baked and delivered, each with its status), on topics of the same
//! partitioning, keyed by order, consumed by the same four groups, relayed by plain clients in
//! this process. No services, no stores, no HTTP: what is left is the broker and librdkafka.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use common::kafka::{admin_config, consumer_config, producer_config};
use common::settings::KafkaSettings;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{json, Value};

const ORDERED: &str = "baseline-ordered";
const ASSEMBLED: &str = "baseline-assembled";
const BAKED: &str = "baseline-baked";
const DELIVERED: &str = "baseline-delivered";
const STATUS: &str = "baseline-status";
/// Statuses per order: placed, assembled, baked, delivered.
const STATUSES: u32 = 4;

fn send(producer: &BaseProducer, topic: &str, key: &[u8], payload: &[u8]) {
    let mut record = BaseRecord::to(topic).key(key).payload(payload);
    // A full local queue only means the broker is behind: wait for room, as the services do.
    while let Err((_, back)) = producer.send(record) {
        producer.poll(Duration::from_millis(1));
        record = back;
    }
}

/// One consumer group on `sources`, handing each event to `handle` with a producer for what
/// follows it, until `stop`.
fn relay(
    kafka: &KafkaSettings,
    group: &str,
    sources: &[&str],
    stop: Arc<AtomicBool>,
    mut handle: impl FnMut(&BorrowedMessage<'_>, &BaseProducer) + Send + 'static,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let consumer: BaseConsumer = consumer_config(kafka, group, group)
        .set("enable.auto.offset.store", "true")
        .create()
        .context("baseline consumer")?;
    consumer.subscribe(sources).context("baseline subscribe")?;
    let producer: BaseProducer = producer_config(kafka, group)
        .create()
        .context("baseline producer")?;
    Ok(std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(10)) {
                handle(&message, &producer);
            }
            producer.poll(Duration::ZERO);
        }
        let _ = producer.flush(Duration::from_secs(1));
    }))
}

/// `in_flight` orders at a time, each replaced when its last status is read, for `seconds`.
pub(crate) async fn measure(
    kafka: &KafkaSettings,
    partitions: i32,
    in_flight: usize,
    seconds: u64,
) -> anyhow::Result<Value> {
    let admin: AdminClient<_> = admin_config(kafka, "baseline").create()?;
    let topics: Vec<NewTopic<'_>> = [ORDERED, ASSEMBLED, BAKED, DELIVERED, STATUS]
        .iter()
        .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
        .collect();
    admin.create_topics(&topics, &AdminOptions::new()).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done) = mpsc::channel::<Vec<u8>>();
    let mut threads = vec![
        relay(
            kafka,
            "baseline-assemble",
            &[ORDERED],
            stop.clone(),
            |m, p| {
                let (key, payload) = (m.key().unwrap_or_default(), m.payload().unwrap_or_default());
                send(p, ASSEMBLED, key, payload);
                send(p, STATUS, key, br#"{"status":200,"timestamp":0}"#);
            },
        )?,
        relay(
            kafka,
            "baseline-bake",
            &[ASSEMBLED],
            stop.clone(),
            |m, p| {
                let (key, payload) = (m.key().unwrap_or_default(), m.payload().unwrap_or_default());
                send(p, BAKED, key, payload);
                send(p, STATUS, key, br#"{"status":300,"timestamp":0}"#);
            },
        )?,
    ];
    // Delivery hears of an order twice, from the order and from the oven.
    let mut heard: HashMap<Vec<u8>, u32> = HashMap::new();
    threads.push(relay(
        kafka,
        "baseline-delivery",
        &[ORDERED, BAKED],
        stop.clone(),
        move |m, p| {
            let key = m.key().unwrap_or_default();
            let count = heard.entry(key.to_vec()).or_default();
            *count += 1;
            if *count == 2 {
                heard.remove(key);
                send(p, DELIVERED, key, m.payload().unwrap_or_default());
                send(p, STATUS, key, br#"{"status":999,"timestamp":0}"#);
            }
        },
    )?);
    let mut statuses: HashMap<Vec<u8>, u32> = HashMap::new();
    threads.push(relay(
        kafka,
        "baseline-status",
        &[STATUS],
        stop.clone(),
        move |m, _| {
            let key = m.key().unwrap_or_default();
            let count = statuses.entry(key.to_vec()).or_default();
            *count += 1;
            if *count == STATUSES {
                statuses.remove(key);
                let _ = done_tx.send(key.to_vec());
            }
        },
    )?);
    // The groups join before the clock starts.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let producer: BaseProducer = producer_config(kafka, "baseline-orders").create()?;
    let generator = tokio::task::spawn_blocking(move || {
        let order = |n: usize, producer: &BaseProducer| {
            let key = format!("{n:016x}");
            let payload = serde_json::to_vec(&pizza_tests::shop::ordered(&key)).unwrap_or_default();
            send(producer, ORDERED, key.as_bytes(), &payload);
            send(
                producer,
                STATUS,
                key.as_bytes(),
                br#"{"status":100,"timestamp":0}"#,
            );
        };
        let started = Instant::now();
        let until = started + Duration::from_secs(seconds);
        for n in 0..in_flight {
            order(n, &producer);
        }
        let (mut placed, mut completed, mut latest) = (in_flight, 0usize, started);
        while Instant::now() < until {
            producer.poll(Duration::ZERO);
            if done.recv_timeout(Duration::from_millis(1)).is_ok() {
                completed += 1;
                latest = Instant::now();
                order(placed, &producer);
                placed += 1;
            }
        }
        (completed, latest.duration_since(started))
    });
    let (completed, elapsed) = generator.await?;
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    let per_second = completed as f64 / elapsed.as_secs_f64().max(1e-3);
    Ok(json!({
        "orders": completed,
        "orders_per_s": (per_second * 10.0).round() / 10.0,
        "in_flight": in_flight,
        "partitions": partitions,
    }))
}
