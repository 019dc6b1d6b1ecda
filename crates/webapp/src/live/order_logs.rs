//! An order's log entries, read from the services' log files for the flow panel.
//!
//! An entry is a line in the original's shape, `(bake) INFO 21:01:00.929 - Order 'b32ad' is
//! baked!`, and the ` - ` lines under it (an event's topic, key and value). It belongs to an order
//! when it names it (`'b32ad'`) or carries it as the event key. Outside text in entries is
//! escaped where it is logged, so it can never start a line or name an order.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use common::domain::wiring::ServiceName;
use serde::Serialize;

/// Only the end of each file is read, so a long-running demo's logs never slow the page down.
const TAIL_BYTES: u64 = 4 * 1024 * 1024;
const DAY_MS: u32 = 86_400_000;

#[derive(Debug, Serialize)]
pub struct OrderLogs {
    /// Per service, in file order.
    pub services: Vec<ServiceEntries>,
    /// All of them, interleaved by time.
    pub all: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ServiceEntries {
    pub service: &'static str,
    pub lines: Vec<String>,
}

/// The entries about `order_id` in each service's log file in `logs_dir`.
pub fn read(logs_dir: &Path, order_id: &str) -> OrderLogs {
    // In the flow's order, so the stable sort below keeps a cause before its effect when both
    // were logged in the same millisecond.
    let services: Vec<ServiceEntries> = ServiceName::FLOW
        .iter()
        .map(|service| {
            let text = tail(&logs_dir.join(format!("{service}.log"))).unwrap_or_default();
            ServiceEntries {
                service: service.as_str(),
                lines: entries_about(&text, order_id),
            }
        })
        .collect();
    let mut all: Vec<String> = services
        .iter()
        .flat_map(|s| s.lines.iter().cloned())
        .collect();
    sort_by_time(&mut all);
    OrderLogs { services, all }
}

/// The entries of a log's text that are about `order_id`.
pub fn entries_about(text: &str, order_id: &str) -> Vec<String> {
    entries(text)
        .into_iter()
        .filter(|entry| names(entry, order_id))
        .collect()
}

/// A log's text cut into entries: each line in the original's shape with the ` - ` lines under it.
pub fn entries(text: &str) -> Vec<String> {
    let mut entries: Vec<String> = Vec::new();
    for line in text.lines() {
        match entries.last_mut() {
            Some(entry) if line.starts_with(" - ") => {
                entry.push('\n');
                entry.push_str(line);
            }
            _ => entries.push(line.to_owned()),
        }
    }
    entries
}

/// Whether an entry has all its lines: an event's entry has three under it (topic, key, value).
pub fn whole(entry: &str) -> bool {
    let head = entry.lines().next().unwrap_or_default();
    let is_event =
        head.ends_with("- Event received") || head.ends_with("- Event successfully produced");
    !is_event || entry.lines().count() >= 4
}

/// Whether an entry is about `order_id`: it names it (`'b32ad0f1'`) or carries it as an event key.
fn names(entry: &str, order_id: &str) -> bool {
    let quoted = format!("'{order_id}'");
    let keyed = format!(" - Key: {order_id}");
    entry
        .lines()
        .any(|line| line.contains(&quoted) || line == keyed)
}

/// The order ids an entry is about.
pub fn orders_named(entry: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for line in entry.lines() {
        if let Some(key) = line.strip_prefix(" - Key: ") {
            ids.push(key.to_owned());
        }
        // The line naming where an event came from quotes its topic, which is no order.
        if line.starts_with(" - Topic '") {
            continue;
        }
        // Our own lines name orders between apostrophes; outside text has its apostrophes
        // escaped, so whatever stands between two of them is ours.
        ids.extend(
            line.split('\'')
                .skip(1)
                .step_by(2)
                .filter(|quoted| !quoted.is_empty() && quoted.len() <= 64)
                .map(str::to_owned),
        );
    }
    ids.sort_unstable();
    ids.dedup();
    ids.retain(|id| names(entry, id));
    ids
}

/// Sorts entries by their time of day. Entries of one order span minutes, so when they seem to
/// span more than half a day, the order crossed midnight and the small times come last.
pub(crate) fn sort_by_time(entries: &mut [String]) {
    let times: Vec<u32> = entries.iter().filter_map(|e| time_of_day(e)).collect();
    let crosses_midnight = match (times.iter().min(), times.iter().max()) {
        (Some(min), Some(max)) => max - min > DAY_MS / 2,
        _ => false,
    };
    entries.sort_by_key(|entry| {
        let time = time_of_day(entry).unwrap_or(0);
        if crosses_midnight && time < DAY_MS / 2 {
            time + DAY_MS
        } else {
            time
        }
    });
}

/// `(bake) INFO 21:01:00.929 - …` → milliseconds since midnight.
fn time_of_day(entry: &str) -> Option<u32> {
    let stamp = entry.split(' ').nth(2)?;
    let (hms, millis) = stamp.split_once('.')?;
    let mut parts = hms.split(':').map(|p| p.parse::<u32>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    Some(((h * 60 + m) * 60 + s) * 1000 + millis.parse::<u32>().ok()?)
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

    const ASSEMBLE: &str = "\
(assemble) INFO 21:00:39.604 - Event received
 - Topic 'pizza-ordered', Partition #0, Offset #3
 - Key: aaaa0001
 - Value: {\"status\":100}
(assemble) INFO 21:00:39.605 - Preparing order 'aaaa0001', assembling time is 4 second(s)
(assemble) INFO 21:00:39.700 - Preparing order 'bbbb0002', assembling time is 5 second(s)
(assemble) INFO 21:00:43.608 - Order 'aaaa0001' is assembled!
";

    #[test]
    fn entries_keep_their_event_lines_and_only_the_orders() {
        let entries = entries_about(ASSEMBLE, "aaaa0001");
        assert_eq!(entries.len(), 3);
        assert!(entries[0].starts_with("(assemble) INFO 21:00:39.604 - Event received\n - Topic"));
        assert!(entries[0].ends_with(" - Value: {\"status\":100}"));
        assert!(entries.iter().all(|e| !e.contains("bbbb0002")));
        // A key that merely starts with the id is another order.
        assert!(entries_about(ASSEMBLE, "aaaa000").is_empty());
    }

    #[test]
    fn an_entry_says_which_orders_it_is_about() {
        let entries = entries(ASSEMBLE);
        assert_eq!(orders_named(&entries[0]), ["aaaa0001"]);
        assert_eq!(orders_named(&entries[2]), ["bbbb0002"]);
        let delivery =
            "(delivery) INFO 21:01:01.662 - Deliverying order 'b32ad' for customer_id 'd94a'";
        assert_eq!(orders_named(delivery), ["b32ad", "d94a"]);
        assert!(whole(&entries[0]));
        let cut = entries[0].lines().take(2).collect::<Vec<_>>().join("\n");
        assert!(
            !whole(&cut),
            "an event entry without its key and value is not whole"
        );
        assert!(whole(&entries[1]));
    }

    #[test]
    fn all_services_interleave_by_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("assemble.log"), ASSEMBLE).expect("write");
        std::fs::write(
            dir.path().join("webapp.log"),
            "(webapp) INFO 21:00:39.500 - Order 'aaaa0001' placed\n",
        )
        .expect("write");
        let logs = read(dir.path(), "aaaa0001");
        assert_eq!(logs.all.len(), 4);
        assert!(logs.all[0].starts_with("(webapp) "));
        assert!(logs.all[3].contains("is assembled!"));
    }

    #[test]
    fn an_order_across_midnight_keeps_its_order() {
        let mut entries = vec![
            "(bake) INFO 00:00:05.000 - Order 'a' is baked!".to_owned(),
            "(webapp) INFO 23:59:50.000 - Order 'a' placed".to_owned(),
        ];
        sort_by_time(&mut entries);
        assert!(entries[0].starts_with("(webapp)"));
    }
}
