//! What a service sends: each stage's event and, when it is ours to write, the stage's
//! `pizza-status` event. Whether it is ours is decided here once, from the settings: with
//! ksqlDB's persistent queries running, the status of a stage they copy would otherwise arrive
//! twice.

use std::collections::BTreeSet;

use crate::events::StageEvent;
use crate::ksqldb::{KsqlDb, STAGES};
use crate::settings::{Settings, StatusSource, Topic, Topics};
use crate::status::StatusAt;

use super::producer::{EventProducer, Landed, ProduceError};

#[derive(Clone)]
pub struct Outbound {
    producer: EventProducer,
    topics: Topics,
    /// The stages whose status event ksqlDB derives; their status is not ours to write.
    derived: BTreeSet<Topic>,
}

/// What became of a stage's two events.
#[derive(Debug)]
pub struct StageSent {
    pub stage: Result<Landed, ProduceError>,
    /// `Ok` also when the status was not ours to write.
    pub status: Result<(), ProduceError>,
}

impl StageSent {
    /// Both acknowledged: what a kitchen service needs before its event counts as handled.
    pub fn all(self) -> Result<(), ProduceError> {
        self.stage?;
        self.status
    }
}

impl Outbound {
    /// Decides whose status events are written: `[status-events] produced_by` when set;
    /// otherwise whatever the `[ksqldb]` endpoint says its running queries derive (nothing
    /// without one, or when it does not answer).
    pub async fn new(producer: EventProducer, settings: &Settings) -> Self {
        let derived = match settings.sys.status_source {
            StatusSource::Services => BTreeSet::new(),
            StatusSource::KsqlDb => STAGES.into_iter().collect(),
            StatusSource::Detect => detect(settings).await,
        };
        Self::with_derived(producer, settings.sys.topics.clone(), derived)
    }

    pub fn with_derived(producer: EventProducer, topics: Topics, derived: BTreeSet<Topic>) -> Self {
        Self {
            producer,
            topics,
            derived,
        }
    }

    pub fn producer(&self) -> &EventProducer {
        &self.producer
    }

    /// Whether this shop writes the status event of `stage` itself.
    pub fn writes_status_of(&self, stage: Topic) -> bool {
        !self.derived.contains(&stage)
    }

    /// Sends a stage's event and, unless ksqlDB derives it, its status event alongside.
    pub async fn stage<E: StageEvent>(&self, stage: Topic, order_id: &str, event: &E) -> StageSent {
        let sent = self
            .producer
            .send_json(self.topics.name(stage), order_id, event);
        if !self.writes_status_of(stage) {
            return StageSent {
                stage: sent.await,
                status: Ok(()),
            };
        }
        let status = self.status(order_id, event.status_at());
        let (stage, status) = tokio::join!(sent, status);
        StageSent {
            stage,
            status: status.map(|_| ()),
        }
    }

    /// A status with no stage event of its own (a dead letter's `something_wrong`, the
    /// watchdog's `stuck`): no query derives these, so they are always ours.
    pub async fn status(&self, order_id: &str, at: StatusAt) -> Result<Landed, ProduceError> {
        self.producer
            .send_json(&self.topics.status, order_id, &at)
            .await
    }
}

async fn detect(settings: &Settings) -> BTreeSet<Topic> {
    let Some(ksqldb) = &settings.kafka.ksqldb else {
        return BTreeSet::new();
    };
    let client = KsqlDb::new(ksqldb);
    match client.feeding(&settings.sys.topics).await {
        Ok(derived) if derived.is_empty() => {
            tracing::info!(
                "ksqlDB at {} runs no query that writes {}: the services write the statuses",
                client.endpoint(),
                settings.sys.topics.status
            );
            derived
        }
        Ok(derived) => {
            let names = derived
                .iter()
                .map(|t| settings.sys.topics.name(*t))
                .collect::<Vec<_>>()
                .join(", ");
            tracing::info!(
                "ksqlDB at {} copies the statuses of {names} to {}: the services leave those to it",
                client.endpoint(),
                settings.sys.topics.status
            );
            derived
        }
        Err(error) => {
            tracing::warn!(
                "{}; the services write the statuses themselves",
                crate::logging::error_chain(&error)
            );
            BTreeSet::new()
        }
    }
}
