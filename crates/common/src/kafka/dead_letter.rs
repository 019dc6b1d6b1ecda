//! The copy of an event no service can handle, as it goes to the dead-letter topic.

use super::Inbound;

/// The copy of an unhandled event: its own key and value, byte for byte (it may not be JSON, or
/// even UTF-8), with why and where from in headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Empty when the event had none.
    pub key: Vec<u8>,
    /// Empty when the event had none.
    pub payload: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl DeadLetter {
    pub fn of(event: &Inbound, service: &str, reason: &str) -> Self {
        let headers = vec![
            ("error.reason", reason.to_owned()),
            ("error.service", service.to_owned()),
            ("error.topic", event.topic.clone()),
            ("error.partition", event.partition.to_string()),
            ("error.offset", event.offset.to_string()),
        ];
        Self {
            key: event.key.clone().unwrap_or_default(),
            payload: event.payload.clone().unwrap_or_default(),
            headers,
        }
    }
}
