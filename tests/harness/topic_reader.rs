//! Reads a topic from the beginning, for asserting what the services produced.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::kafka::consumer_config;
use common::settings::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};

/// One record: key, value and headers.
#[derive(Debug, Clone)]
pub struct Record {
    pub key: Option<String>,
    pub value: Vec<u8>,
    pub headers: HashMap<String, String>,
}

impl Record {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.value).unwrap_or(serde_json::Value::Null)
    }
}

/// Everything on `topic` once `done` holds for what was read (or the timeout passes).
pub fn read_until(
    kafka: &KafkaSettings,
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Record]) -> bool,
) -> Vec<Record> {
    let group = format!("reader-{}-{}", topic, common::events::now_ms());
    let consumer: BaseConsumer = consumer_config(kafka, &group, "pizza-tests-reader")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut records = Vec::new();
    while Instant::now() < deadline && !done(&records) {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
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
        records.push(Record {
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            value: message.payload().unwrap_or_default().to_vec(),
            headers,
        });
    }
    records
}

/// How many records each key has on `topic`: read until `keys` distinct keys were seen and then
/// nothing new came for a second (so late duplicates are counted too), or until the timeout.
pub fn count_by_key(
    kafka: &KafkaSettings,
    topic: &str,
    keys: usize,
    timeout: Duration,
) -> HashMap<String, usize> {
    let mut read = 0;
    let mut last_new = Instant::now();
    let records = read_until(kafka, topic, timeout, |records| {
        if records.len() > read {
            read = records.len();
            last_new = Instant::now();
        }
        let distinct: HashSet<&Option<String>> = records.iter().map(|r| &r.key).collect();
        distinct.len() >= keys && last_new.elapsed() >= Duration::from_secs(1)
    });
    let mut counts = HashMap::new();
    for record in records {
        *counts.entry(record.key.unwrap_or_default()).or_insert(0) += 1;
    }
    counts
}
