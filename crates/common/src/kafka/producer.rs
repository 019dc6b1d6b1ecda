//! A producer whose callers await the broker's acknowledgement of each event. Where an event
//! lands is librdkafka's to choose, with the partitioner `client::producer_config` names (the
//! Java client's, unless the `[kafka]` section says otherwise) and the partition counts of its
//! latest metadata, so a topic given more partitions is followed without a restart.
//!
//! An idempotent producer that librdkafka declares fatally failed (the broker answered a
//! sequence it did not expect, say, after a cluster lost acknowledged writes) sends nothing more,
//! ever. It is replaced by a new one at the next send: what it left unacknowledged failed for its
//! senders, who send it again (a service's loop redoes the event, the web app's customer orders
//! again), so nothing is lost and the program need not be restarted.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::ClientConfig;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::acks::{Ack, AckedProducer};
use crate::domain::events::python_json;
use crate::metrics::Metrics;

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
    #[error("cannot write the event for topic '{topic}' as JSON: {source}")]
    Encode {
        topic: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("interrupted by shutdown")]
    Cancelled,
}

#[derive(Clone)]
pub struct EventProducer {
    producer: Arc<Replaceable>,
    /// The topics checked to exist at start; an event for another is refused.
    opened: Arc<HashSet<String>>,
    /// Where acknowledged events are counted, for a program that serves metrics.
    metrics: Option<Arc<Metrics>>,
}

impl std::fmt::Debug for EventProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventProducer")
            .field("opened", &self.opened)
            .finish_non_exhaustive()
    }
}

/// The producer in use, and what makes another like it when it has failed for good.
struct Replaceable {
    current: RwLock<Arc<AckedProducer>>,
    config: ClientConfig,
}

impl Replaceable {
    /// The producer to send with: the current one, or a new one in its place if it has failed
    /// for good. Of two senders that find it failed, one replaces it and the other uses that.
    fn usable(&self) -> Result<Arc<AckedProducer>, ProduceError> {
        let current = Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner));
        let Some((code, reason)) = current.client().fatal_error() else {
            return Ok(current);
        };
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if !Arc::ptr_eq(&slot, &current) {
            return Ok(Arc::clone(&slot));
        }
        let fresh = Arc::new(AckedProducer::create(&self.config)?);
        tracing::error!(
            "The Kafka producer failed for good ({code:?}: {reason}); a new one takes its place. \
             Events the old one left unacknowledged failed, and are sent again by their senders"
        );
        *slot = Arc::clone(&fresh);
        Ok(fresh)
    }
}

/// How long start-up waits for the cluster to answer before giving up with a clear error.
const CONNECT_PATIENCE: Duration = Duration::from_secs(60);

impl EventProducer {
    /// Creates the producer once each topic it will write to is seen on the cluster, so a
    /// missing topic stops the program at start with its name, not at the first order.
    pub async fn connect(
        config: &ClientConfig,
        topics: &[&str],
        shutdown: &CancellationToken,
    ) -> Result<Self, ProduceError> {
        let producer = Arc::new(AckedProducer::create(config)?);
        for topic in topics {
            await_topic(&producer, topic, shutdown).await?;
        }
        Ok(Self {
            producer: Arc::new(Replaceable {
                current: RwLock::new(producer),
                config: config.clone(),
            }),
            opened: Arc::new(topics.iter().map(|t| (*t).to_owned()).collect()),
            metrics: None,
        })
    }

    /// Counts every event the broker acknowledges in `metrics`.
    #[must_use]
    pub fn counted(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Counts an event sent without [`Self::send`] (a dead letter with its headers).
    pub(super) fn count_sent(&self, topic: &str) {
        if let Some(metrics) = &self.metrics {
            metrics.sent(topic);
        }
    }

    /// Hands an event to librdkafka; the returned future resolves when the broker acknowledges it.
    pub fn enqueue(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Ack, ProduceError> {
        if !self.opened.contains(topic) {
            return Err(ProduceError::NotOpened(topic.to_owned()));
        }
        self.producer
            .usable()?
            .send(topic, key, payload, headers)
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
        self.count_sent(topic);
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
        let payload = python_json::to_vec(value).map_err(|source| ProduceError::Encode {
            topic: topic.to_owned(),
            source,
        })?;
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

async fn await_topic(
    producer: &Arc<AckedProducer>,
    topic: &str,
    shutdown: &CancellationToken,
) -> Result<(), ProduceError> {
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
            Ok(Some((count, false))) if count > 0 => return Ok(()),
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
