//! An order's log lines, read from the services' log files for the flow panel.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;

pub const SERVICES: [&str; 5] = ["webapp", "assemble", "bake", "delivery", "status"];
/// Only the end of each file is read, so a long-running demo's logs never slow the page down.
const TAIL_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Serialize)]
pub struct OrderLogs {
    /// Per service, in file order.
    pub services: Vec<ServiceLines>,
    /// All of them, interleaved by time.
    pub all: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ServiceLines {
    pub service: &'static str,
    pub lines: Vec<String>,
}

/// Lines that name the order (`'b32ad0f1'`), without terminal colour codes.
pub fn read(logs_dir: &Path, order_id: &str) -> OrderLogs {
    let needle = format!("'{order_id}'");
    let services: Vec<ServiceLines> = SERVICES
        .iter()
        .map(|service| {
            let text = tail(&logs_dir.join(format!("{service}.log"))).unwrap_or_default();
            let lines = text
                .lines()
                .filter(|line| line.contains(&needle))
                .map(str::to_owned)
                .collect();
            ServiceLines { service, lines }
        })
        .collect();
    let mut all: Vec<String> = services
        .iter()
        .flat_map(|s| {
            s.lines
                .iter()
                .map(move |line| format!("({}) {line}", s.service))
        })
        .collect();
    // Lines start with an RFC 3339 time after the service tag, which sorts as text.
    all.sort_by(|a, b| timestamp(a).cmp(timestamp(b)));
    OrderLogs { services, all }
}

fn timestamp(tagged: &str) -> &str {
    tagged
        .split_once(") ")
        .map_or(tagged, |(_, line)| line.split(' ').next().unwrap_or(line))
}

fn tail(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // A read from the middle of the file starts mid-line; drop that partial line.
    Ok(if start > 0 {
        text.split_once('\n')
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or_default()
    } else {
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_orders_lines_and_interleaves_them_by_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("assemble.log"),
            "2026-01-01T00:00:02Z INFO Order 'aaaa0001' is assembled!\n2026-01-01T00:00:03Z INFO Order 'bbbb0002' is assembled!\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("webapp.log"),
            "2026-01-01T00:00:01Z INFO Order 'aaaa0001' placed\n",
        )
        .expect("write");
        let logs = read(dir.path(), "aaaa0001");
        assert_eq!(logs.all.len(), 2);
        assert!(logs.all[0].starts_with("(webapp) "));
        assert!(logs.all[1].starts_with("(assemble) "));
        assert!(logs
            .services
            .iter()
            .all(|s| s.lines.iter().all(|l| !l.contains("bbbb0002"))));
    }
}
