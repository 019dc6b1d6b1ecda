//! What each program on this host says of itself: the events it has in hand, by topic, and
//! what it has sent, read from its `/metrics` while the floor is watched. Where it serves them is
//! what its log says (a port taken by another instance is replaced by one the system picks), so
//! a program on another host, or one whose metrics are off, is simply not heard.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use common::domain::wiring::ServiceName;
use common::metrics::URL_MARKER;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::model::ProgramReading;

/// How much of the end of a log is searched for where its metrics are.
const LOG_TAIL_BYTES: u64 = 256 * 1024;
/// One program's answer may take this long.
const PATIENCE: Duration = Duration::from_secs(1);
/// A metrics page is a few kilobytes; past this it is not one of ours.
const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// Where `service` last said it serves its metrics, in its log in `logs_dir`.
pub(crate) fn metrics_url(logs_dir: &Path, service: ServiceName) -> Option<String> {
    let mut file = std::fs::File::open(logs_dir.join(format!("{service}.log"))).ok()?;
    let length = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL_BYTES)))
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let line = text.lines().rev().find(|line| line.contains(URL_MARKER))?;
    let url = line.split(URL_MARKER).nth(1)?.trim();
    url.starts_with("http://").then(|| url.to_owned())
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ProgramError {
    #[error("its log does not say where it serves its metrics (they may be off)")]
    NoUrl,
    #[error("{url}: {why}")]
    Unreadable { url: String, why: String },
}

/// Asks `service` for its metrics.
pub(crate) async fn read(
    logs_dir: &Path,
    service: ServiceName,
) -> Result<ProgramReading, ProgramError> {
    let url = metrics_url(logs_dir, service).ok_or(ProgramError::NoUrl)?;
    let unreadable = |why: String| ProgramError::Unreadable {
        url: url.clone(),
        why,
    };
    let page = tokio::time::timeout(PATIENCE, get(&url))
        .await
        .map_err(|_| unreadable(format!("no answer within {PATIENCE:?}")))?
        .map_err(|e| unreadable(e.to_string()))?;
    let mut reading = parse(&page);
    reading.url = url;
    Ok(reading)
}

/// `GET` over a plain connection: the metrics listener is on this host, and one request is all.
async fn get(url: &str) -> std::io::Result<String> {
    let rest = url.trim_start_matches("http://");
    let (address, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!("GET /{path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 || answer.len() > MAX_PAGE_BYTES {
            break;
        }
        answer.extend_from_slice(&chunk[..read]);
    }
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        let status = head.lines().next().unwrap_or_default().to_owned();
        return Err(std::io::Error::other(format!("answered {status:?}")));
    }
    Ok(body.to_owned())
}

/// The figures the floor uses, from a Prometheus text page.
pub(crate) fn parse(page: &str) -> ProgramReading {
    let mut reading = ProgramReading::default();
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let topic = || {
            series
                .split("messaging_destination_name=\"")
                .nth(1)?
                .split('"')
                .next()
                .map(str::to_owned)
        };
        if series.starts_with("pizza_events_in_flight{") {
            if let (Some(topic), Ok(n)) = (topic(), value.parse::<f64>()) {
                reading.in_flight.insert(topic, n as i64);
            }
        } else if series.starts_with("messaging_client_sent_messages_total{") {
            if let (Some(topic), Ok(n)) = (topic(), value.parse::<f64>()) {
                reading.sent.insert(topic, n as u64);
            }
        }
    }
    reading
}

/// Every program on this host that says where its metrics are.
pub(crate) async fn read_all(
    logs_dir: &Path,
) -> BTreeMap<ServiceName, Result<ProgramReading, String>> {
    let mut readings = BTreeMap::new();
    for service in ServiceName::FLOW {
        let read = read(logs_dir, service).await.map_err(|e| e.to_string());
        readings.insert(service, read);
    }
    readings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_gives_what_is_in_hand_and_what_was_sent_by_topic() {
        let page = "# HELP pizza_events_in_flight x\n\
            pizza_events_in_flight{messaging_destination_name=\"pizza-baked\"} 2\n\
            pizza_events_in_flight{messaging_destination_name=\"pizza-ordered\"} 0\n\
            messaging_client_sent_messages_total{messaging_destination_name=\"pizza-status\"} 41\n\
            pizza_dead_letters_total{messaging_destination_name=\"pizza-baked\",reason=\"bad_value\"} 1\n";
        let reading = parse(page);
        assert_eq!(reading.in_flight.get("pizza-baked"), Some(&2));
        assert_eq!(reading.in_flight.get("pizza-ordered"), Some(&0));
        assert_eq!(reading.sent.get("pizza-status"), Some(&41));
        assert_eq!(reading.sent.len(), 1);
    }

    #[test]
    fn the_url_is_the_last_the_log_gave() {
        let folder = tempfile::tempdir().expect("folder");
        std::fs::write(
            folder.path().join("bake.log"),
            "(bake) INFO 1 - Metrics at http://127.0.0.1:9403/metrics\n\
             (bake) INFO 2 - Graceful shutdown completed\n\
             (bake) INFO 3 - Metrics at http://127.0.0.1:41234/metrics\n",
        )
        .expect("log");
        assert_eq!(
            metrics_url(folder.path(), ServiceName::Bake).as_deref(),
            Some("http://127.0.0.1:41234/metrics")
        );
        assert_eq!(metrics_url(folder.path(), ServiceName::Status), None);
    }
}
