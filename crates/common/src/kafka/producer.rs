//! A producer that places every keyed event the way the Java client would (see
//! [`crate::partitioner`]) and lets callers await the broker's acknowledgement.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::ClientConfig;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::acks::{Ack, AckedProducer};
use crate::partitioner::partition_for;

pub use super::acks::Landed;

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("cannot create the Kafka producer: {0}")]
    Create(#[source] KafkaError),
    #[error("cannot start the thread that hears the broker's acknowledgements: {0}")]
    Thread(#[source] std::io::Error),
    #[error("topic '{0}' does not exist on the cluster (create the topics with run_me_first)")]
    UnknownTopic(String),
    #[error("cannot read the metadata of topic '{topic}': {source}")]
    Metadata {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("topic '{0}' is not one this producer was opened for")]
    NotOpened(String),
    #[error("event to topic '{topic}' was not acknowledged: {source}")]
    Delivery {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("interrupted by shutdown")]
    Cancelled,
}

#[derive(Clone)]
pub struct EventProducer {
    producer: Arc<AckedProducer>,
    partitions: HashMap<String, i32>,
}

/// How long start-up waits for the cluster to answer before giving up with a clear error.
const CONNECT_PATIENCE: Duration = Duration::from_secs(60);

impl EventProducer {
    /// Creates the producer and learns the partition count of each topic it will write to.
    pub async fn connect(
        config: &ClientConfig,
        topics: &[&str],
        shutdown: &CancellationToken,
    ) -> Result<Self, ProduceError> {
        let producer = Arc::new(AckedProducer::create(config)?);
        let mut partitions = HashMap::new();
        for topic in topics {
            let count = partition_count(&producer, topic, shutdown).await?;
            partitions.insert((*topic).to_owned(), count);
        }
        Ok(Self {
            producer,
            partitions,
        })
    }

    /// Hands an event to librdkafka; the returned future resolves when the broker acknowledges it.
    pub fn enqueue(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Ack, ProduceError> {
        let count = *self
            .partitions
            .get(topic)
            .ok_or_else(|| ProduceError::NotOpened(topic.to_owned()))?;
        self.producer
            .send(topic, partition_for(key, count), key, payload, headers)
            .map_err(|source| ProduceError::Delivery {
                topic: topic.to_owned(),
                source,
            })
    }

    /// Produces one event and waits for the broker to acknowledge it.
    pub async fn send(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Landed, ProduceError> {
        let delivery = self.enqueue(topic, key.as_bytes(), payload, headers)?;
        let landed = acknowledged(topic, delivery).await?;
        super::event_log::produced(
            topic,
            landed.partition,
            landed.offset,
            key.as_bytes(),
            payload,
        );
        Ok(landed)
    }

    pub async fn send_json<T: Serialize>(
        &self,
        topic: &str,
        key: &str,
        value: &T,
    ) -> Result<Landed, ProduceError> {
        let payload = serde_json::to_vec(value).unwrap_or_default();
        self.send(topic, key, &payload, None).await
    }
}

pub async fn acknowledged(topic: &str, delivery: Ack) -> Result<Landed, ProduceError> {
    match delivery.await {
        Ok(Ok(landed)) => Ok(landed),
        Ok(Err(source)) => Err(ProduceError::Delivery {
            topic: topic.to_owned(),
            source,
        }),
        Err(_) => Err(ProduceError::Delivery {
            topic: topic.to_owned(),
            source: KafkaError::Canceled,
        }),
    }
}

async fn partition_count(
    producer: &Arc<AckedProducer>,
    topic: &str,
    shutdown: &CancellationToken,
) -> Result<i32, ProduceError> {
    let started = Instant::now();
    loop {
        let client = producer.clone();
        let name = topic.to_owned();
        let answer = tokio::task::spawn_blocking(move || {
            client
                .client()
                .fetch_metadata(Some(&name), Duration::from_secs(5))
                .map(|metadata| {
                    metadata
                        .topics()
                        .iter()
                        .find(|t| t.name() == name)
                        .map(|t| (t.partitions().len(), t.error().is_some()))
                })
        })
        .await
        // The task only fails if the metadata call panicked; treat it as the cluster not answering.
        .unwrap_or(Err(KafkaError::Canceled));
        match answer {
            Ok(Some((count, false))) if count > 0 => {
                return i32::try_from(count)
                    .map_err(|_| ProduceError::UnknownTopic(topic.to_owned()))
            }
            Ok(_) => return Err(ProduceError::UnknownTopic(topic.to_owned())),
            Err(source) if started.elapsed() > CONNECT_PATIENCE => {
                return Err(ProduceError::Metadata {
                    topic: topic.to_owned(),
                    source,
                })
            }
            Err(source) => {
                tracing::warn!("Waiting for the Kafka cluster ({source})");
                tokio::select! {
                    () = shutdown.cancelled() => return Err(ProduceError::Cancelled),
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}
