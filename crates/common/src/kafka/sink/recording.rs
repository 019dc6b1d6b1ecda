//! A sink that keeps what is sent instead of sending it, and the configuration tests run with.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use futures::future::{self, FutureExt};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::{EventSink, StageSent};
use crate::contracts::Contracts;
use crate::domain::status::{StatusAt, StatusWritten};
use crate::domain::topics::Topic;
use crate::domain::wiring::ServiceName;
use crate::kafka::{DeadLetter, Inbound, Landed, ProduceError};
use crate::metrics::CaughtBy;
use crate::settings::{KafkaSettings, Settings, StatusSource, SysSettings, Topics};

/// The repository's own configuration (`config_sys/default.ini`, `config_kafka/localhost.ini`),
/// with instant simulated times and every status written by the services, as a recorder does.
pub fn test_settings() -> Settings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut sys = SysSettings::load(&root.join("config_sys/default.ini"))
        .expect("config_sys/default.ini is the repository's own and valid");
    sys.time_scale = 0.0;
    sys.status_source = StatusSource::Services;
    let kafka = KafkaSettings::load(&root.join("config_kafka/localhost.ini"))
        .expect("config_kafka/localhost.ini is the repository's own and valid");
    Settings { kafka, sys }
}

/// One event as it would have reached the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub topic: String,
    pub key: String,
    pub payload: Vec<u8>,
    /// Only dead letters have any.
    pub headers: Vec<(String, String)>,
}

impl Sent {
    /// The value as JSON; `Null` when it is not JSON (a dead letter's copy of a malformed event).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or_default()
    }

    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Writes every status itself, as `[status-events] produced_by = services` does, unless told
/// that ksqlDB writes them.
#[derive(Debug)]
pub struct RecordingSink {
    /// Who the statuses say wrote them.
    writer: ServiceName,
    topics: Topics,
    sent: Mutex<Vec<Sent>>,
    failing: Mutex<HashSet<String>>,
    refusing: Mutex<HashSet<String>>,
    ksqldb_writes_statuses: bool,
}

impl RecordingSink {
    /// What `writer` sends, to the topics as `topics` names them.
    pub fn new(writer: ServiceName, topics: Topics) -> Self {
        Self {
            writer,
            topics,
            sent: Mutex::default(),
            failing: Mutex::default(),
            refusing: Mutex::default(),
            ksqldb_writes_statuses: false,
        }
    }

    /// Leaves the stages' statuses to ksqlDB with `produced_by = ksqldb`, as `Outbound` does.
    #[must_use]
    pub fn statuses_by(mut self, source: StatusSource) -> Self {
        self.ksqldb_writes_statuses = source == StatusSource::KsqlDb;
        self
    }

    /// From now on, every send to `topic` is refused as breaking the topic's contract, as a
    /// broker whose contract is stricter than the sender's copy refuses it.
    pub fn refuse(&self, topic: &str) {
        locked(&self.refusing).insert(topic.to_owned());
    }

    /// From now on, every send to `topic` fails as if the broker were down.
    pub fn fail(&self, topic: &str) {
        locked(&self.failing).insert(topic.to_owned());
    }

    /// Sends to `topic` land again.
    pub fn recover(&self, topic: &str) {
        locked(&self.failing).remove(topic);
    }

    /// Everything sent so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        locked(&self.sent).clone()
    }

    /// What was sent to `topic`, in order.
    pub fn sent_to(&self, topic: &str) -> Vec<Sent> {
        locked(&self.sent)
            .iter()
            .filter(|sent| sent.topic == topic)
            .cloned()
            .collect()
    }

    /// Checks the event against its topic's contract as the real producer does, so every
    /// handler test also shows that what the handler sends meets the contracts.
    /// Where it "landed": partition 0, at its place among everything sent.
    fn record(&self, sent: Sent) -> Result<Landed, ProduceError> {
        if let Some(contract) = self
            .topics
            .topic(&sent.topic)
            .and_then(|topic| Contracts::shop().ok()?.of_topic(topic))
        {
            let checked = contract
                .check_key(&sent.key)
                .and_then(|()| contract.check_payload(&sent.payload));
            if let Err(violation) = checked {
                return Err(ProduceError::Contract {
                    topic: sent.topic,
                    key: sent.key,
                    violation,
                    caught_by: CaughtBy::Producer,
                });
            }
        }
        if locked(&self.refusing).contains(&sent.topic) {
            return Err(ProduceError::Contract {
                violation: crate::contracts::Violation {
                    file: "the broker's contract",
                    rule: "refused (INVALID_RECORD)".to_owned(),
                },
                topic: sent.topic,
                key: sent.key,
                caught_by: CaughtBy::Broker,
            });
        }
        if locked(&self.failing).contains(&sent.topic) {
            return Err(ProduceError::Delivery {
                topic: sent.topic,
                source: KafkaError::MessageProduction(RDKafkaErrorCode::BrokerTransportFailure),
            });
        }
        let mut all = locked(&self.sent);
        all.push(sent);
        Ok(Landed {
            partition: 0,
            offset: i64::try_from(all.len() - 1).unwrap_or(i64::MAX),
        })
    }

    fn record_json(
        &self,
        topic: &str,
        key: &str,
        value: &StatusAt,
    ) -> Result<Landed, ProduceError> {
        let written = StatusWritten::new(*value, self.writer);
        let payload = crate::domain::events::python_json::to_vec(&written).map_err(|source| {
            ProduceError::Encode {
                topic: topic.to_owned(),
                source,
            }
        })?;
        self.record(Sent {
            topic: topic.to_owned(),
            key: key.to_owned(),
            payload,
            headers: Vec::new(),
        })
    }
}

#[async_trait]
impl EventSink for RecordingSink {
    async fn stage(
        &self,
        stage: Topic,
        order_id: &str,
        payload: Vec<u8>,
        status: StatusAt,
    ) -> StageSent {
        // Both are attempted, as the producer sends them side by side; but an event that breaks
        // its contract is refused before either is sent, as `Outbound` does.
        let event = self.record(Sent {
            topic: self.topics.name(stage).to_owned(),
            key: order_id.to_owned(),
            payload,
            headers: Vec::new(),
        });
        if let Err(refused @ ProduceError::Contract { .. }) = event {
            return StageSent {
                stage: Err(refused),
                status: future::ready(Ok(())).boxed(),
            };
        }
        if self.ksqldb_writes_statuses {
            return StageSent {
                stage: event,
                status: future::ready(Ok(())).boxed(),
            };
        }
        let status = self.record_json(&self.topics.status, order_id, &status);
        StageSent {
            stage: event,
            status: future::ready(status.map(drop)).boxed(),
        }
    }

    async fn stage_status(
        &self,
        _stage: Topic,
        order_id: &str,
        at: StatusAt,
    ) -> Result<(), ProduceError> {
        if self.ksqldb_writes_statuses {
            return Ok(());
        }
        self.record_json(&self.topics.status, order_id, &at)
            .map(drop)
    }

    async fn status(&self, order_id: &str, at: StatusAt) -> Result<(), ProduceError> {
        self.record_json(&self.topics.status, order_id, &at)
            .map(drop)
    }

    async fn dead_letter(&self, topic: &str, letter: &DeadLetter) -> Result<(), ProduceError> {
        self.record(Sent {
            topic: topic.to_owned(),
            key: String::from_utf8_lossy(&letter.key).into_owned(),
            payload: letter.payload.clone(),
            headers: letter
                .headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        })
        .map(drop)
    }

    fn left_to_ksqldb(&self, _stage: Topic) -> bool {
        self.ksqldb_writes_statuses
    }
}

/// A test that panicked while holding the lock leaves nothing half-written worth refusing.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An event of `kind` as the consumer hands it over, from partition 0 at offset 0.
pub fn inbound(topics: &Topics, kind: Topic, key: &str, payload: &[u8]) -> Inbound {
    Inbound {
        kind,
        topic: topics.name(kind).to_owned(),
        partition: 0,
        offset: 0,
        key: Some(key.as_bytes().to_vec()),
        payload: Some(payload.to_vec()),
    }
}
