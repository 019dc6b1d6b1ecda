//! Reads a server-sent event stream as a browser's EventSource would: events separated by a blank
//! line, `id:`, `event:` and `data:` fields, `:` comments (keep-alives) skipped.

use futures::StreamExt;
use reqwest::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or(serde_json::Value::Null)
    }
}

pub struct EventStream {
    pub status: StatusCode,
    body: Option<futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>>,
    buffer: String,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        Self {
            status: response.status(),
            body: Some(response.bytes_stream().boxed()),
            buffer: String::new(),
        }
    }

    /// Reads what is left; `Ok` with the events if the server ended the stream properly (the
    /// body's last chunk), `Err` if the connection broke off instead.
    pub async fn to_its_end(&mut self) -> Result<Vec<SseEvent>, String> {
        let mut events = Vec::new();
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                events.extend(parse(&block));
                continue;
            }
            let Some(body) = self.body.as_mut() else {
                return Ok(events);
            };
            match body.next().await {
                Some(Ok(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Some(Err(error)) => {
                    self.body = None;
                    return Err(error.to_string());
                }
                None => {
                    self.body = None;
                    return Ok(events);
                }
            }
        }
    }

    /// The next event, or `None` once the server has ended the stream.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
                continue;
            }
            let chunk = self.body.as_mut()?.next().await;
            match chunk {
                Some(Ok(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => {
                    self.body = None;
                    return None;
                }
            }
        }
    }
}

fn parse(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent {
        id: None,
        event: None,
        data: String::new(),
    };
    let mut any = false;
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        any = true;
        match field {
            "id" => event.id = Some(value.to_owned()),
            "event" => event.event = Some(value.to_owned()),
            "data" => {
                if !event.data.is_empty() {
                    event.data.push('\n');
                }
                event.data.push_str(value);
            }
            _ => {}
        }
    }
    any.then_some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_comments_and_multi_line_data() {
        assert_eq!(parse(": keep-alive\n\n"), None);
        let event = parse("id: 7\nevent: entry\ndata: a\ndata: b\n\n").expect("an event");
        assert_eq!(event.id.as_deref(), Some("7"));
        assert_eq!(event.event.as_deref(), Some("entry"));
        assert_eq!(event.data, "a\nb");
    }
}
