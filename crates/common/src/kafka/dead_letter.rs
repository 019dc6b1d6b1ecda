//! What happens to an event no service can handle: a copy goes to the dead-letter topic with the
//! reason and origin in headers, the order (when the key names one) is marked `something_wrong`,
//! and the loop moves on.

use rdkafka::message::{Header, OwnedHeaders};

use super::{EventProducer, Inbound, ProduceError};
use crate::events::{now_ms, StageReached};

pub(super) struct DeadLetters<'a> {
    pub producer: &'a EventProducer,
    pub service: &'a str,
    pub topic: &'a str,
    pub status_topic: &'a str,
    pub something_wrong: i64,
}

impl DeadLetters<'_> {
    pub async fn send(&self, event: &Inbound, reason: &str) -> Result<(), ProduceError> {
        let partition = event.partition.to_string();
        let offset = event.offset.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "error.reason",
                value: Some(reason),
            })
            .insert(Header {
                key: "error.service",
                value: Some(self.service),
            })
            .insert(Header {
                key: "error.topic",
                value: Some(event.topic.as_str()),
            })
            .insert(Header {
                key: "error.partition",
                value: Some(partition.as_str()),
            })
            .insert(Header {
                key: "error.offset",
                value: Some(offset.as_str()),
            });
        let key = event.key.as_deref().unwrap_or_default();
        let payload = event.payload.as_deref().unwrap_or_default();
        let delivery = self
            .producer
            .enqueue(self.topic, key, payload, Some(headers))?;
        super::producer::acknowledged(self.topic, delivery).await?;

        if let Ok(order_id) = event.order_id() {
            let status = StageReached {
                status: self.something_wrong,
                timestamp: now_ms(),
            };
            self.producer
                .send_json(self.status_topic, &order_id, &status)
                .await?;
        }
        Ok(())
    }
}
