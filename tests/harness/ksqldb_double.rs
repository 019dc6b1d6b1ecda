//! A stand-in for a ksqlDB server, for tests on a machine without one: its REST endpoint (what
//! `run_me_first` and the services ask) answers like ksqlDB, and a relay on the real broker does
//! what the persistent queries of `ksql/queries.sql` do, copying each stage event's status to
//! `pizza-status` with ksqlDB's upper-case field names.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use common::ksqldb::stream_name;
use common::settings::{ClientRole, KafkaSettings, Topic, Topics};
use rdkafka::consumer::{BaseConsumer, Consumer};
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

/// Copies the status of every event on the `stages` topics to the status topic, as ksqlDB's
/// `INSERT INTO PIZZA_STATUS SELECT order_id, status, timestamp FROM …` would, until dropped.
pub struct Relay {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl Relay {
    pub fn start(kafka: &KafkaSettings, topics: &Topics, stages: &[Topic]) -> Self {
        let mut config: ClientConfig = kafka.client_config(ClientRole::Consumer);
        config
            .set("group.id", "ksqldb-double")
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "10");
        let consumer: BaseConsumer = config.create().expect("relay consumer");
        let producer: FutureProducer = kafka
            .client_config(ClientRole::Producer)
            .create()
            .expect("relay producer");
        let mut list = TopicPartitionList::new();
        for stage in stages {
            let name = topics.name(*stage);
            let metadata = consumer
                .fetch_metadata(Some(name), Duration::from_secs(30))
                .expect("metadata");
            for topic in metadata.topics() {
                for partition in topic.partitions() {
                    list.add_partition_offset(name, partition.id(), Offset::Beginning)
                        .expect("partition");
                }
            }
        }
        consumer.assign(&list).expect("assign");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let status_topic = topics.status.clone();
        let thread = std::thread::spawn(move || {
            let mut copied = 0;
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) else {
                    continue;
                };
                let value: serde_json::Value =
                    serde_json::from_slice(message.payload().unwrap_or_default())
                        .unwrap_or_default();
                let status =
                    serde_json::json!({"STATUS": value["status"], "TIMESTAMP": value["timestamp"]});
                let payload = status.to_string();
                let key = message.key().unwrap_or_default().to_vec();
                let record = FutureRecord::to(&status_topic).key(&key).payload(&payload);
                let sent =
                    futures::executor::block_on(producer.send(record, Duration::from_secs(10)));
                if sent.is_ok() {
                    copied += 1;
                }
            }
            copied
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops relaying; returns how many statuses it copied.
    pub fn stop(mut self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
