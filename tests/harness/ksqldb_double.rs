//! A stand-in for a ksqlDB server, for tests on a machine without one: its REST endpoint (what
//! `run_me_first` asks) answers like ksqlDB, and a relay on the real broker does what the
//! persistent queries of `ksql/queries.sql` do, as the cluster sees them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use common::domain::topics::Topic;
use common::settings::{ClientRole, KafkaSettings, Topics};
use ksqldb::stream_name;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

impl Received {
    pub fn statement(&self) -> &str {
        self.body["ksql"].as_str().unwrap_or_default()
    }
}

#[derive(Clone)]
struct Endpoint {
    received: Arc<Mutex<Vec<Received>>>,
    /// The persistent queries it says are running, as `INSERT INTO … FROM <stream> …` texts.
    running: Arc<Vec<String>>,
}

#[derive(Debug)]
pub struct KsqlDbDouble {
    pub endpoint: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl KsqlDbDouble {
    /// An endpoint whose `SHOW QUERIES` lists the persistent queries of `stages` as running.
    pub async fn start(topics: &Topics, stages: &[Topic]) -> Self {
        let status = stream_name(&topics.status);
        let running = stages
            .iter()
            .map(|stage| {
                format!(
                    "INSERT INTO {status} SELECT order_id, status, timestamp FROM {} EMIT CHANGES;",
                    stream_name(topics.name(*stage))
                )
            })
            .collect();
        let endpoint = Endpoint {
            received: Arc::default(),
            running: Arc::new(running),
        };
        let received = endpoint.received.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let app = Router::new()
            .route("/ksql", post(answer))
            .with_state(endpoint);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            endpoint: format!("http://{address}"),
            received,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn answer(State(endpoint): State<Endpoint>, headers: HeaderMap, body: String) -> String {
    let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let statement = body["ksql"].as_str().unwrap_or_default().to_owned();
    endpoint
        .received
        .lock()
        .expect("lock")
        .push(Received { headers, body });
    if statement.starts_with("SHOW QUERIES") {
        let queries: Vec<serde_json::Value> = endpoint
            .running
            .iter()
            .enumerate()
            .map(|(n, text)| {
                serde_json::json!({"queryString": text, "id": format!("INSERTQUERY_{n}"), "state": "RUNNING"})
            })
            .collect();
        serde_json::json!([{"@type": "queries", "queries": queries}]).to_string()
    } else {
        r#"[{"@type":"currentStatus","commandStatus":{"status":"SUCCESS"}}]"#.to_owned()
    }
}

/// Does what ksqlDB's persistent queries `INSERT INTO PIZZA_STATUS SELECT order_id, status,
/// timestamp FROM <stage> EMIT CHANGES` do, as the cluster sees them: one consumer group per
/// query, named as ksqlDB names it (`_confluent-ksql-<service id>query_<query id>`), reading its
/// stage's topic and copying each status to the status topic with ksqlDB's upper-case field
/// names, committing as it goes. Each query also commits where it starts as soon as it is
/// assigned its partitions: ksqlDB does not, but the local broker does not describe a group's
/// assignments, so this is how the services can tell, before the first order, what it reads.
#[derive(Debug)]
pub struct Relay {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<usize>>,
}

/// The group ksqlDB would give the query of `stage`.
pub fn query_group(stage: Topic) -> String {
    let id = Topic::STAGES
        .iter()
        .position(|s| *s == stage)
        .unwrap_or_default();
    format!("_confluent-ksql-pizzatests_query_INSERTQUERY_{id}")
}

impl Relay {
    /// Starts the queries of `stages`; returns once each is assigned its topic's partitions.
    pub fn start(kafka: &KafkaSettings, topics: &Topics, stages: &[Topic]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = stages
            .iter()
            .map(|stage| {
                let consumer = query_consumer(kafka, &query_group(*stage), topics.name(*stage));
                let producer: FutureProducer = kafka
                    .client_config(ClientRole::Producer)
                    .create()
                    .expect("relay producer");
                let (stopping, status_topic) = (stop.clone(), topics.status.clone());
                std::thread::spawn(move || {
                    copy_statuses(&consumer, &producer, &status_topic, &stopping)
                })
            })
            .collect();
        Self { stop, threads }
    }

    /// Stops the queries (their groups are left empty, as when queries are dropped); returns
    /// how many statuses they copied.
    pub fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .drain(..)
            .map(|t| t.join().unwrap_or_default())
            .sum()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A member of `group` holding every partition of `topic`, its starting place committed.
fn query_consumer(kafka: &KafkaSettings, group: &str, topic: &str) -> BaseConsumer {
    let mut config: ClientConfig = kafka.client_config(ClientRole::Consumer);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10");
    let consumer: BaseConsumer = config.create().expect("query consumer");
    consumer.subscribe(&[topic]).expect("subscribed");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Polling drives the join; nothing has been written yet, so nothing is skipped.
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(50)) {
            panic!("{topic} has events before its query started");
        }
        let assigned = consumer.assignment().expect("assignment");
        if assigned.count() > 0 {
            let mut start = TopicPartitionList::new();
            for element in assigned.elements() {
                let (low, _) = consumer
                    .fetch_watermarks(topic, element.partition(), Duration::from_secs(10))
                    .expect("watermarks");
                start
                    .add_partition_offset(topic, element.partition(), Offset::Offset(low))
                    .expect("partition");
            }
            consumer
                .commit(&start, CommitMode::Sync)
                .expect("start committed");
            return consumer;
        }
        assert!(
            Instant::now() < deadline,
            "{group} was never assigned {topic}"
        );
    }
}

/// Copies each status to `status_topic` and commits past it, until `stop`.
fn copy_statuses(
    consumer: &BaseConsumer,
    producer: &FutureProducer,
    status_topic: &str,
    stop: &AtomicBool,
) -> usize {
    let mut copied = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) else {
            continue;
        };
        let value: serde_json::Value =
            serde_json::from_slice(message.payload().unwrap_or_default()).unwrap_or_default();
        let status =
            serde_json::json!({"STATUS": value["status"], "TIMESTAMP": value["timestamp"]});
        let payload = status.to_string();
        let key = message.key().unwrap_or_default().to_vec();
        let record = FutureRecord::to(status_topic).key(&key).payload(&payload);
        if futures::executor::block_on(producer.send(record, Duration::from_secs(10))).is_ok() {
            copied += 1;
            let _ = consumer.commit_message(&message, CommitMode::Sync);
        }
    }
    copied
}
