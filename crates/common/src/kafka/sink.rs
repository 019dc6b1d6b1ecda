//! What a handler sends, apart from how it gets there: [`super::Outbound`] sends to Kafka; in
//! tests, [`RecordingSink`] keeps what was sent, so a handler is tested without a broker.

#[cfg(any(test, feature = "testing"))]
mod recording;

use async_trait::async_trait;

use super::{DeadLetter, ProduceError};
use crate::domain::status::StatusAt;
use crate::domain::topics::Topic;

#[cfg(any(test, feature = "testing"))]
pub use recording::{inbound, test_settings, RecordingSink, Sent};

/// Every send resolves once the broker (or whatever stands in for it) has the event, so a
/// handler that returns `Ok` may have its offset stored.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// A stage's event, already in the JSON its topic carries, and the stage's `status` on
    /// `pizza-status` when that is the sender's to write.
    async fn stage(
        &self,
        stage: Topic,
        order_id: &str,
        payload: Vec<u8>,
        status: StatusAt,
    ) -> Result<(), ProduceError>;

    /// The status of a stage whose event is already on its topic, sent by an attempt that may
    /// have stopped before the status landed: written again when it is the sender's to write
    /// (ksqlDB, when it writes the statuses, copies it from the event).
    async fn stage_status(
        &self,
        stage: Topic,
        order_id: &str,
        at: StatusAt,
    ) -> Result<(), ProduceError>;

    /// A status with no stage event of its own (a dead letter's `something_wrong`).
    async fn status(&self, order_id: &str, at: StatusAt) -> Result<(), ProduceError>;

    /// A copy of an event that can never be handled, to the dead-letter `topic`.
    async fn dead_letter(&self, topic: &str, letter: &DeadLetter) -> Result<(), ProduceError>;
}
