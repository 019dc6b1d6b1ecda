//! The original's log entries for events, word for word: one when an event is received and one
//! when the broker has acknowledged an event produced. Outside text (keys, values) goes through
//! [`quote_safe`], so it can neither break the entry into lines of its own nor name an order the
//! way the shop's own lines do.

use crate::runtime::logging::quote_safe;

use super::Inbound;

pub(crate) fn received(event: &Inbound) {
    tracing::info!(
        "Event received\n - Topic '{}', Partition #{}, Offset #{}\n - Key: {}\n - Value: {}",
        event.topic,
        event.partition,
        event.offset,
        text(event.key.as_deref()),
        text(event.payload.as_deref()),
    );
}

pub(super) fn produced(topic: &str, partition: i32, offset: i64, key: &[u8], payload: &[u8]) {
    tracing::info!(
        "Event successfully produced\n - Topic '{topic}', Partition #{partition}, Offset #{offset}\n - Key: {}\n - Value: {}",
        text(Some(key)),
        text(Some(payload)),
    );
}

pub(crate) fn text(bytes: Option<&[u8]>) -> String {
    bytes
        .map(|b| quote_safe(&String::from_utf8_lossy(b)))
        .unwrap_or_default()
}
