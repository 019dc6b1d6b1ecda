//! What happens to an event no service can handle: a copy goes to the dead-letter topic with the
//! reason and origin in headers (or, on a cluster where that topic cannot exist, into the log),
//! the order (when the key names one) is marked `something_wrong`, and the loop moves on.

use rdkafka::message::{Header, OwnedHeaders};

use super::event_log::text;
use super::{acknowledged, Inbound, Outbound, ProduceError};
use crate::context::ServiceContext;
use crate::events::now_ms;
use crate::status::StatusAt;

pub(super) async fn dead_letter(
    ctx: &ServiceContext,
    event: &Inbound,
    reason: &str,
) -> Result<(), ProduceError> {
    match &ctx.dead_letter_topic {
        Some(topic) => copy(&ctx.outbound, topic, ctx.name.as_str(), event, reason).await?,
        None => tracing::error!(
            "Dead letter kept in the log (there is no dead-letter topic): {}, reason: {reason}, key: {}, value: {}",
            event.origin(),
            text(event.key.as_deref()),
            text(event.payload.as_deref()),
        ),
    }
    if let Ok(order_id) = event.order_id() {
        let something_wrong = StatusAt {
            status: ctx.sys().status.ids.something_wrong,
            timestamp: now_ms(),
        };
        ctx.outbound.status(&order_id, something_wrong).await?;
    }
    Ok(())
}

async fn copy(
    outbound: &Outbound,
    topic: &str,
    service: &str,
    event: &Inbound,
    reason: &str,
) -> Result<(), ProduceError> {
    let partition = event.partition.to_string();
    let offset = event.offset.to_string();
    let headers = [
        ("error.reason", reason),
        ("error.service", service),
        ("error.topic", event.topic.as_str()),
        ("error.partition", partition.as_str()),
        ("error.offset", offset.as_str()),
    ]
    .into_iter()
    .fold(OwnedHeaders::new(), |headers, (key, value)| {
        headers.insert(Header {
            key,
            value: Some(value),
        })
    });
    let key = event.key.as_deref().unwrap_or_default();
    let payload = event.payload.as_deref().unwrap_or_default();
    let delivery = outbound
        .producer()
        .enqueue(topic, key, payload, Some(headers))?;
    acknowledged(topic, delivery).await?;
    outbound.producer().count_sent(topic);
    Ok(())
}
