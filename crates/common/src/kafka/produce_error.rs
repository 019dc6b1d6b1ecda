//! Why an event was not sent.

use rdkafka::error::KafkaError;

use crate::contracts::Violation;
use crate::metrics::CaughtBy;

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
    #[error("the event for order '{key}' breaks the contract of topic '{topic}' ({}): {violation}", caught_by.as_str())]
    Contract {
        topic: String,
        key: String,
        violation: Violation,
        caught_by: CaughtBy,
    },
    #[error("interrupted by shutdown")]
    Cancelled,
}

impl ProduceError {
    /// The contract the event broke, when that is why it was not sent: sending it again cannot
    /// help.
    pub fn violation(&self) -> Option<(&Violation, CaughtBy)> {
        match self {
            Self::Contract {
                violation,
                caught_by,
                ..
            } => Some((violation, *caught_by)),
            _ => None,
        }
    }
}
