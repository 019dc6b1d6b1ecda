//! A producer whose callers await the broker's acknowledgement of each event. Where an event
//! lands is librdkafka's to choose, with the partitioner `client::producer_config` names (the
//! Java client's, unless the `[kafka]` section says otherwise) and the partition counts of its
//! latest metadata, so a topic given more partitions is followed without a restart.
//!
//! Every value (and key) sent to a shop topic is checked against the topic's contract
//! ([`crate::contracts`]) before it is handed to librdkafka, so a value that breaks one never
//! joins a batch: a broker that enforces the contracts refuses a whole batch for one bad record.
//! Should the broker refuse a batch all the same (its contracts are stricter than this
//! program's), each of its events is sent again alone: the others land, and the one that breaks
//! the broker's contract is refused for good.
//!
//! An idempotent producer that librdkafka declares fatally failed (the broker answered a
//! sequence it did not expect, say, after a cluster lost acknowledged writes) sends nothing more,
//! ever. It is replaced by a new one at the next send: what it left unacknowledged failed for its
//! senders, who send it again (a service's loop redoes the event, the web app's customer orders
//! again), so nothing is lost and the program need not be restarted.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::ClientConfig;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::acks::{Ack, AckedProducer};
use super::produce_error::ProduceError;
use crate::contracts::{Contract, Contracts, Violation};
use crate::domain::events::python_json;
use crate::metrics::{CaughtBy, Metrics};
use crate::settings::Topics;

pub use super::acks::Landed;

#[derive(Clone)]
pub struct EventProducer {
    producer: Arc<Replaceable>,
    /// The topics checked to exist at start; an event for another is refused.
    opened: Arc<HashSet<String>>,
    /// Where acknowledged events are counted, for a program that serves metrics.
    metrics: Option<Arc<Metrics>>,
    /// The contract of each opened topic that has one, by the topic's name on the cluster.
    contracts: Arc<HashMap<String, &'static Contract>>,
    /// Sends an event of a batch the broker refused again, alone (see the module's comment).
    alone: Arc<OnceLock<AckedProducer>>,
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
            contracts: Arc::default(),
            alone: Arc::default(),
        })
    }

    /// Checks every event for a shop topic (named as in `topics`) against its contract before
    /// sending it. Without this, the producer sends whatever it is given: the harness of the
    /// tests, standing in for producers that check nothing.
    #[must_use]
    pub fn bound_by(mut self, contracts: &'static Contracts, topics: &Topics) -> Self {
        self.contracts = Arc::new(
            contracts
                .iter()
                .map(|contract| (topics.name(contract.topic).to_owned(), contract))
                .filter(|(name, _)| self.opened.contains(name))
                .collect(),
        );
        self
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

    /// Hands an event to librdkafka, once it meets its topic's contract; the returned future
    /// resolves when the broker acknowledges it.
    pub fn enqueue(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Ack, ProduceError> {
        self.check(topic, key, payload)?;
        self.enqueue_checked(topic, key, payload, headers)
    }

    /// [`Self::enqueue`] for an event already checked against its contract.
    fn enqueue_checked(
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

    /// The contract check: a value that breaks its topic's contract is a bug of the sender's,
    /// said once, here, with the topic, the order and the rule.
    pub(super) fn check(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
    ) -> Result<(), ProduceError> {
        let Some(contract) = self.contracts.get(topic) else {
            return Ok(());
        };
        let key_text = String::from_utf8_lossy(key);
        let checked = contract
            .check_key(&key_text)
            .and_then(|()| contract.check_payload(payload));
        checked.map_err(|violation| self.broken(topic, &key_text, violation, CaughtBy::Producer))
    }

    fn broken(
        &self,
        topic: &str,
        key: &str,
        violation: Violation,
        caught_by: CaughtBy,
    ) -> ProduceError {
        let error = ProduceError::Contract {
            topic: topic.to_owned(),
            key: key.to_owned(),
            violation,
            caught_by,
        };
        // The shop's programs say it here, once. A producer bound by no contract (the tests'
        // harness, `produce`) stands in for anyone's, and its caller says what it makes of it.
        if !self.contracts.is_empty() {
            tracing::error!("Not sent: {error}");
        }
        if let Some(metrics) = &self.metrics {
            metrics.contract_violation(topic, caught_by);
        }
        error
    }

    /// Sends an event whose batch the broker refused again, alone, so that only a refusal of
    /// the event itself counts. A producer of its own for these: one event per batch, and not
    /// idempotent, so the main producer's sequence is not involved.
    async fn send_alone(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Landed, ProduceError> {
        let alone = match self.alone.get() {
            Some(producer) => producer,
            None => {
                let mut config = self.producer.config.clone();
                config
                    .set("enable.idempotence", "false")
                    .set("batch.num.messages", "1")
                    .set("linger.ms", "0");
                let created = AckedProducer::create(&config)?;
                self.alone.get_or_init(|| created)
            }
        };
        let delivery = alone
            .send(topic, key.as_bytes(), payload, headers)
            .map_err(|source| ProduceError::Delivery {
                topic: topic.to_owned(),
                source,
            })?;
        match acknowledged(topic, delivery).await {
            Err(error) if refused_as_invalid(&error) => {
                let violation = match self.contracts.get(topic) {
                    Some(contract) => Violation {
                        file: contract.file,
                        rule: format!(
                            "refused by the broker ({error}), though it meets this program's copy: the broker's is stricter"
                        ),
                    },
                    None => Violation {
                        file: "the broker's contract",
                        rule: format!("refused ({error})"),
                    },
                };
                Err(self.broken(topic, key, violation, CaughtBy::Broker))
            }
            other => other,
        }
    }

    /// Produces one event and waits for the broker to acknowledge it.
    pub async fn send(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Landed, ProduceError> {
        self.check(topic, key.as_bytes(), payload)?;
        self.send_checked(topic, key, payload, headers).await
    }

    /// [`Self::send`] for an event already checked against its contract.
    pub(super) async fn send_checked(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Landed, ProduceError> {
        // Kept for a send alone; rdkafka's headers can only be copied through a borrow.
        let copy = headers.as_ref().map(|h| h.as_borrowed().detach());
        let delivery = self.enqueue_checked(topic, key.as_bytes(), payload, headers)?;
        let landed = match acknowledged(topic, delivery).await {
            Err(error) if refused_as_invalid(&error) => {
                tracing::warn!(
                    "The broker refused the batch of the event for order '{key}' on topic '{topic}' ({error}); sending it again alone"
                );
                self.send_alone(topic, key, payload, copy).await?
            }
            other => other?,
        };
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

/// Whether the broker refused the event's batch as breaking a contract (INVALID_RECORD).
fn refused_as_invalid(error: &ProduceError) -> bool {
    matches!(
        error,
        ProduceError::Delivery {
            source: KafkaError::MessageProduction(RDKafkaErrorCode::InvalidRecord),
            ..
        }
    )
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
