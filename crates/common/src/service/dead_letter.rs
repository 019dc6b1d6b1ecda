//! What happens to an event no service can handle: a copy goes to the dead-letter topic with the
//! reason and origin in headers (or, on a cluster where that topic cannot exist, into the log),
//! the order (when the key names one) is marked `something_wrong`, and the loop moves on.

use super::context::ServiceContext;
use crate::contracts::Violation;
use crate::domain::events::now_ms;
use crate::domain::status::StatusAt;
use crate::kafka::event_log::text;
use crate::kafka::{DeadLetter, Inbound, ProduceError};
use crate::metrics::CaughtBy;

/// The headers of a dead letter whose event's handling sent something that broke a contract:
/// `error.reason` is `contract`; which topic's contract, which rule, and who caught it follow.
pub(super) fn contract_headers(
    topic: &str,
    violation: &Violation,
    caught_by: CaughtBy,
) -> Vec<(&'static str, String)> {
    vec![
        ("error.contract", topic.to_owned()),
        ("error.rule", violation.to_string()),
        ("error.caught_by", caught_by.as_str().to_owned()),
    ]
}

/// `extra`: headers after the origin's (see [`contract_headers`]).
pub(super) async fn dead_letter(
    ctx: &ServiceContext,
    event: &Inbound,
    reason: &str,
    extra: Vec<(&'static str, String)>,
) -> Result<(), ProduceError> {
    match &ctx.dead_letter_topic {
        Some(topic) => {
            let mut letter = DeadLetter::of(event, ctx.name.as_str(), reason);
            letter.headers.extend(extra);
            ctx.sink.dead_letter(topic, &letter).await?;
        }
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
        ctx.sink.status(&order_id, something_wrong).await?;
    }
    Ok(())
}
