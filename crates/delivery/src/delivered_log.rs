//! Where delivery looks for a delivery that reached the door without being noted: an instance
//! that takes an order over from one that vanished, or that redoes its own delivery whose status
//! did not land, asks `pizza-delivered` rather than sending a second driver.

use async_trait::async_trait;
use common::kafka::{keyed_event_since, HandleError};
use common::settings::KafkaSettings;

#[async_trait]
pub(crate) trait DeliveredLog: Send + Sync {
    /// The time (ms) of a delivered event of `order_id` written at or after `since` (ms), or
    /// `None` when there is none.
    async fn delivered_since(&self, order_id: &str, since: i64)
        -> Result<Option<i64>, HandleError>;
}

/// The `pizza-delivered` topic itself.
#[derive(Debug)]
pub(crate) struct DeliveredTopic {
    pub(crate) kafka: KafkaSettings,
    pub(crate) client_id: String,
    pub(crate) topic: String,
}

#[async_trait]
impl DeliveredLog for DeliveredTopic {
    async fn delivered_since(
        &self,
        order_id: &str,
        since: i64,
    ) -> Result<Option<i64>, HandleError> {
        let (kafka, client_id, topic) = (
            self.kafka.clone(),
            self.client_id.clone(),
            self.topic.clone(),
        );
        let key = order_id.to_owned();
        tokio::task::spawn_blocking(move || {
            keyed_event_since(&kafka, &client_id, &topic, &key, since)
        })
        .await
        .map_err(HandleError::transient)?
        .map_err(HandleError::transient)
    }
}
