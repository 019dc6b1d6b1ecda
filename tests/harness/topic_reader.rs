//! Reads a topic from the beginning, for asserting what the services produced. The reader is
//! assigned every partition directly (no consumer group), so it is ready at once: there is no
//! join to wait for, and "read everything" means up to each partition's end at the time of asking.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::settings::{ClientRole, KafkaSettings};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// One record: where it is, its key, value and headers.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: Vec<u8>,
    pub headers: HashMap<String, String>,
}

impl Record {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.value).unwrap_or(serde_json::Value::Null)
    }
}

const PATIENCE: Duration = Duration::from_secs(30);

type Reader = BaseConsumer;

fn reader(kafka: &KafkaSettings, topic: &str) -> (Reader, Vec<i32>) {
    let mut config: ClientConfig = kafka.client_config(ClientRole::Consumer);
    config
        .set("group.id", "pizza-tests-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10");
    let consumer: Reader = config.create().expect("reader");
    let metadata = consumer
        .fetch_metadata(Some(topic), PATIENCE)
        .expect("topic metadata");
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    assert!(!partitions.is_empty(), "topic {topic} has no partitions");
    let mut list = TopicPartitionList::new();
    for partition in &partitions {
        list.add_partition_offset(topic, *partition, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&list).expect("assign");
    (consumer, partitions)
}

fn record(message: &rdkafka::message::BorrowedMessage<'_>) -> Record {
    let headers = message
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        h.value
                            .map(|v| String::from_utf8_lossy(v).into_owned())
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Record {
        partition: message.partition(),
        offset: message.offset(),
        key: message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned()),
        value: message.payload().unwrap_or_default().to_vec(),
        headers,
    }
}

/// Everything on `topic` right now: each partition read up to its end as of this call.
pub fn read_all(kafka: &KafkaSettings, topic: &str) -> Vec<Record> {
    let (consumer, partitions) = reader(kafka, topic);
    let ends: HashMap<i32, i64> = partitions
        .iter()
        .map(|p| {
            let (_, high) = consumer
                .fetch_watermarks(topic, *p, PATIENCE)
                .expect("the partition's end");
            (*p, high)
        })
        .collect();
    let mut records = Vec::new();
    let mut next: HashMap<i32, i64> = partitions.iter().map(|p| (*p, 0)).collect();
    let deadline = Instant::now() + PATIENCE;
    while partitions.iter().any(|p| next[p] < ends[p]) {
        assert!(
            Instant::now() < deadline,
            "{topic}: read up to {next:?} of {ends:?} within {PATIENCE:?}"
        );
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) {
            next.insert(message.partition(), message.offset() + 1);
            records.push(record(&message));
        }
    }
    records
}

/// What is on `topic` once `done` holds for what was read (or the timeout passes).
pub fn read_until(
    kafka: &KafkaSettings,
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Record]) -> bool,
) -> Vec<Record> {
    let (consumer, _) = reader(kafka, topic);
    let deadline = Instant::now() + timeout;
    let mut records = Vec::new();
    while Instant::now() < deadline && !done(&records) {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            records.push(record(&message));
        }
    }
    records
}

/// How many records each key has on `topic` right now.
pub fn count_by_key(kafka: &KafkaSettings, topic: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for record in read_all(kafka, topic) {
        *counts.entry(record.key.unwrap_or_default()).or_insert(0) += 1;
    }
    counts
}

/// The status codes on `pizza-status` per order, sorted: `[100, 200, 300, 999]` for an order that
/// went through once. Reads ksqlDB's upper-case field names too.
pub fn statuses_by_order(kafka: &KafkaSettings, topic: &str) -> HashMap<String, Vec<i64>> {
    let mut by_order: HashMap<String, Vec<i64>> = HashMap::new();
    for record in read_all(kafka, topic) {
        let json = record.json();
        let status = json["status"].as_i64().or(json["STATUS"].as_i64());
        by_order
            .entry(record.key.unwrap_or_default())
            .or_default()
            .push(status.unwrap_or_default());
    }
    for statuses in by_order.values_mut() {
        statuses.sort_unstable();
    }
    by_order
}
