//! One consumed event, owned so its handling can run while the loop keeps polling.

use rdkafka::message::{BorrowedMessage, Message};
use serde::de::DeserializeOwned;

use crate::contracts::Violation;
use crate::domain::events::{self, EventError};
use crate::domain::topics::Topic;
use crate::metrics::CaughtBy;

/// Any error, with its causes, for failures that can happen in many ways.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Inbound {
    /// Which of the shop's topics it came from.
    pub kind: Topic,
    /// That topic's name on the cluster.
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
}

impl Inbound {
    pub fn from_message(kind: Topic, message: &BorrowedMessage<'_>) -> Self {
        Self {
            kind,
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
        }
    }

    pub fn order_id(&self) -> Result<String, EventError> {
        events::decode_key(self.key.as_deref())
    }

    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, EventError> {
        events::decode(self.payload.as_deref())
    }

    /// Where the event came from, for log lines.
    pub fn origin(&self) -> String {
        format!(
            "topic '{}', partition #{}, offset #{}",
            self.topic, self.partition, self.offset
        )
    }
}

/// How handling an event can end other than well.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event can never be handled: it is dead-lettered and skipped.
    #[error("malformed event: {0}")]
    Malformed(#[from] EventError),
    /// Shutdown interrupted the work; the offset is not stored, so it is redone after restart.
    #[error("interrupted by shutdown")]
    Cancelled,
    /// What its handling sent breaks a topic's contract: a bug of this program's, which no
    /// retry mends. The event is dead-lettered with reason `contract` and the rule, and the loop
    /// goes on.
    #[error("its event for topic '{topic}' breaks the contract ({}): {violation}", caught_by.as_str())]
    Contract {
        topic: String,
        violation: Violation,
        caught_by: CaughtBy,
    },
    /// Worth trying again: the broker or the state store failed for now.
    #[error(transparent)]
    Transient(BoxError),
}

impl HandleError {
    pub fn transient(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Transient(Box::new(error))
    }
}

impl From<super::ProduceError> for HandleError {
    fn from(error: super::ProduceError) -> Self {
        match error {
            super::ProduceError::Cancelled => Self::Cancelled,
            super::ProduceError::Contract {
                topic,
                violation,
                caught_by,
                ..
            } => Self::Contract {
                topic,
                violation,
                caught_by,
            },
            other => Self::transient(other),
        }
    }
}
