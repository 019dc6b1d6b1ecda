//! The one way every program sends, apart from how it gets there: [`super::Outbound`] sends to
//! Kafka; in tests, [`RecordingSink`] keeps what was sent, so a handler (a kitchen service's, or
//! the web app's) is tested without a broker.

#[cfg(any(test, feature = "testing"))]
mod recording;

use async_trait::async_trait;
use futures::future::BoxFuture;

use super::{DeadLetter, Landed, ProduceError};
use crate::domain::status::StatusAt;
use crate::domain::topics::Topic;

#[cfg(any(test, feature = "testing"))]
pub use recording::{inbound, test_settings, RecordingSink, Sent};

/// What became of a stage's two events: its own, and its status on `pizza-status`.
pub struct StageSent {
    /// Where the stage's event landed, or why it did not.
    pub stage: Result<Landed, ProduceError>,
    /// Resolves when the status is on `pizza-status` (or ksqlDB has copied it); `Ok` also when
    /// it was not the sender's to write. Awaited, or left to run on its own by a sender who need
    /// not wait (the web app answers its customer as soon as the order itself has landed).
    pub status: BoxFuture<'static, Result<(), ProduceError>>,
}

impl StageSent {
    /// Both done: what a kitchen service needs before its event counts as handled.
    pub async fn all(self) -> Result<(), ProduceError> {
        self.stage?;
        self.status.await
    }
}

impl std::fmt::Debug for StageSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageSent")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// Every send resolves once the broker (or whatever stands in for it) has the event, so a
/// handler that returns `Ok` may have its offset stored. Each value is checked against its
/// topic's contract first.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// A stage's event, already in the JSON its topic carries, and the stage's `status` on
    /// `pizza-status` when that is the sender's to write. Returns once the stage's own event has
    /// landed (or failed), its status perhaps still on its way. An event that breaks its
    /// contract is refused before either is sent.
    async fn stage(
        &self,
        stage: Topic,
        order_id: &str,
        payload: Vec<u8>,
        status: StatusAt,
    ) -> StageSent;

    /// The status of a stage whose event is already on its topic, sent by an attempt that may
    /// have stopped before the status landed: written again when it is the sender's to write
    /// (ksqlDB, when it writes the statuses, copies it from the event).
    async fn stage_status(
        &self,
        stage: Topic,
        order_id: &str,
        at: StatusAt,
    ) -> Result<(), ProduceError>;

    /// A status with no stage event of its own (a dead letter's `something_wrong`), or a
    /// stage's status sent again.
    async fn status(&self, order_id: &str, at: StatusAt) -> Result<(), ProduceError>;

    /// A copy of an event that can never be handled, to the dead-letter `topic`.
    async fn dead_letter(&self, topic: &str, letter: &DeadLetter) -> Result<(), ProduceError>;

    /// Whether ksqlDB writes `stage`'s status rather than this sender (the flow panel draws it).
    fn left_to_ksqldb(&self, stage: Topic) -> bool;
}
