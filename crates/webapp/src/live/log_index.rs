//! The services' log entries, indexed by the orders they name, so a log panel costs a lookup
//! instead of a read of megabytes. Each file is read once from its last 4 MB (the orders from
//! before the web app started), and from then on only what was appended since the last panel
//! asked; every panel shares that reading. Per file, the index keeps about as many bytes of
//! entries as that tail holds, forgetting the orders it heard of first.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use common::domain::wiring::ServiceName;

use super::order_logs::{entries, orders_named, sort_by_time, whole, OrderLogs, ServiceEntries};

/// What each file's index holds at most: the tail the panel always read.
pub const KEPT_BYTES: usize = 4 * 1024 * 1024;

pub struct LogIndex {
    files: Vec<(ServiceName, Mutex<FileIndex>)>,
}

impl std::fmt::Debug for LogIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogIndex")
            .field(
                "services",
                &self
                    .files
                    .iter()
                    .map(|(service, _)| service)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

struct FileIndex {
    path: PathBuf,
    /// Where reading stopped; `None` until the file is first read.
    position: Option<u64>,
    /// The end of the file after `position`, short of a whole entry.
    partial: String,
    by_order: HashMap<String, Vec<String>>,
    /// Orders in the order they were first named, the first to be forgotten.
    first_named: VecDeque<String>,
    bytes: usize,
}

impl LogIndex {
    pub fn new(logs_dir: &Path) -> Self {
        Self {
            files: ServiceName::FLOW
                .iter()
                .map(|service| {
                    let path = logs_dir.join(format!("{service}.log"));
                    (*service, Mutex::new(FileIndex::new(path)))
                })
                .collect(),
        }
    }

    /// The entries about `order_id` in each service's log, brought up to date first. Blocking:
    /// it may read the files.
    pub fn read(&self, order_id: &str) -> OrderLogs {
        let services: Vec<ServiceEntries> = self
            .files
            .iter()
            .map(|(service, file)| {
                let mut file = locked(file);
                file.catch_up();
                ServiceEntries {
                    service: service.as_str(),
                    lines: file.by_order.get(order_id).cloned().unwrap_or_default(),
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
}

/// A panic while reading leaves a usable index (at worst one missing an entry).
fn locked(mutex: &Mutex<FileIndex>) -> MutexGuard<'_, FileIndex> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl FileIndex {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            position: None,
            partial: String::new(),
            by_order: HashMap::new(),
            first_named: VecDeque::new(),
            bytes: 0,
        }
    }

    fn forget_all(&mut self) {
        self.partial.clear();
        self.by_order.clear();
        self.first_named.clear();
        self.bytes = 0;
    }

    /// Reads what was appended since the last look (the file's tail on the first).
    fn catch_up(&mut self) {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        let length = file.metadata().map_or(0, |m| m.len());
        let start = match self.position {
            // Far behind (nobody asked for a long while): what is left out would be forgotten
            // anyway, so it is not read.
            Some(position) if position <= length && length - position <= KEPT_BYTES as u64 => {
                position
            }
            // Never read, or truncated or replaced since: its tail, as if new.
            _ => {
                self.forget_all();
                length.saturating_sub(KEPT_BYTES as u64)
            }
        };
        if start == length {
            self.position = Some(length);
            return;
        }
        let mut appended = Vec::new();
        if file.seek(SeekFrom::Start(start)).is_err()
            || file
                .take(length - start)
                .read_to_end(&mut appended)
                .is_err()
        {
            return;
        }
        let first_read = start > 0 && self.by_order.is_empty() && self.partial.is_empty();
        self.position = Some(start + appended.len() as u64);
        let mut text = String::from_utf8_lossy(&appended).into_owned();
        if first_read {
            // A read from the middle of the file starts mid-line.
            text = text
                .split_once('\n')
                .map(|(_, rest)| rest.to_owned())
                .unwrap_or_default();
        }
        self.partial.push_str(&text);
        // An entry is written in one go, but a read may land in the middle of it: what follows
        // the last line break, and an event entry short of its lines, wait for the next look.
        let Some(end) = self.partial.rfind('\n') else {
            return;
        };
        let complete: String = self.partial.drain(..=end).collect();
        let mut read = entries(&complete);
        if read.last().is_some_and(|entry| !whole(entry)) {
            if let Some(unfinished) = read.pop() {
                self.partial.insert_str(0, &format!("{unfinished}\n"));
            }
        }
        for entry in read {
            self.add(entry);
        }
    }

    fn add(&mut self, entry: String) {
        let named = orders_named(&entry);
        for order_id in named {
            self.bytes += entry.len();
            let lines = self.by_order.entry(order_id.clone()).or_insert_with(|| {
                self.first_named.push_back(order_id);
                Vec::new()
            });
            lines.push(entry.clone());
        }
        while self.bytes > KEPT_BYTES {
            let Some(oldest) = self.first_named.pop_front() else {
                break;
            };
            if let Some(lines) = self.by_order.remove(&oldest) {
                self.bytes -= lines.iter().map(String::len).sum::<usize>();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn entries_are_found_by_order_and_appends_are_read_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bake.log");
        std::fs::write(
            &path,
            "(bake) INFO 21:00:43.000 - Preparing order 'aaaa0001', baking time is 8 second(s)\n",
        )
        .expect("write");
        let index = LogIndex::new(dir.path());
        let logs = index.read("aaaa0001");
        assert_eq!(logs.all.len(), 1);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        // An event entry written in two goes is taken once whole.
        write!(
            file,
            "(bake) INFO 21:00:51.000 - Event successfully produced\n - Topic 'pizza-baked', Partition #0, Offset #1\n"
        )
        .expect("append");
        assert_eq!(index.read("aaaa0001").all.len(), 1);
        write!(
            file,
            " - Key: aaaa0001\n - Value: {{\"status\":300}}\n(bake) INFO 21:00:51.001 - Order 'bbbb0002' is baked!\n"
        )
        .expect("append");
        let logs = index.read("aaaa0001");
        assert_eq!(logs.all.len(), 2, "{:?}", logs.all);
        assert!(logs.all[1].ends_with("{\"status\":300}"));
        assert_eq!(index.read("bbbb0002").all.len(), 1);
        assert!(index.read("cccc0003").all.is_empty());
    }

    #[test]
    fn a_replaced_file_is_read_again_and_old_orders_are_forgotten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bake.log");
        let line = |id: usize| format!("(bake) INFO 21:00:43.000 - Order '{id:08x}' is baked!\n");
        std::fs::write(&path, line(1)).expect("write");
        let index = LogIndex::new(dir.path());
        assert_eq!(index.read(&format!("{:08x}", 1)).all.len(), 1);
        std::fs::write(&path, line(2)).expect("replaced, same length");
        std::fs::write(&path, "").expect("truncated");
        assert!(index.read(&format!("{:08x}", 1)).all.is_empty());
        let many: String = (0..KEPT_BYTES / 40).map(line).collect();
        std::fs::write(&path, &many).expect("write");
        let logs = index.read(&format!("{:08x}", 3));
        assert!(
            logs.all.is_empty(),
            "the oldest orders are forgotten past the bound"
        );
        let newest = format!("{:08x}", KEPT_BYTES / 40 - 1);
        assert_eq!(index.read(&newest).all.len(), 1);
    }
}
