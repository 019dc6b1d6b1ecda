//! Follows the services' log files on this host and hands each new entry to the streams of the
//! orders it names, for the flow panel. It wakes when a file is written (a file-system watch), reads
//! only what was appended, and reads nothing while no panel is open.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::services::ServiceName;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::order_logs::{entries, orders_named, whole};

/// Entries a panel may have waiting before it counts as unable to keep up.
const BACKLOG: usize = 256;

type Followers = HashMap<String, HashMap<u64, mpsc::Sender<String>>>;

#[derive(Clone)]
pub struct LogFeed {
    inner: Arc<Inner>,
}

struct Inner {
    followers: Mutex<Followers>,
    next_id: AtomicU64,
}

impl Inner {
    fn followers(&self) -> std::sync::MutexGuard<'_, Followers> {
        self.followers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An order's new log entries, until dropped.
pub struct FollowingLogs {
    pub entries: mpsc::Receiver<String>,
    inner: Arc<Inner>,
    order_id: String,
    id: u64,
}

impl Drop for FollowingLogs {
    fn drop(&mut self) {
        let mut followers = self.inner.followers();
        if let Some(panels) = followers.get_mut(&self.order_id) {
            panels.remove(&self.id);
            if panels.is_empty() {
                followers.remove(&self.order_id);
            }
        }
    }
}

/// Where one log file has been read up to, and a line not yet finished there.
struct Tail {
    path: PathBuf,
    position: u64,
    partial: String,
}

impl LogFeed {
    /// Starts following the log files in `logs_dir` from their current ends, until `shutdown`.
    /// Without a file-system watch (the folder cannot be watched), panels show what was written
    /// when they opened.
    pub fn start(logs_dir: &Path, shutdown: &CancellationToken) -> Self {
        let inner = Arc::new(Inner {
            followers: Mutex::default(),
            next_id: AtomicU64::new(0),
        });
        let _ = std::fs::create_dir_all(logs_dir);
        let tails: Vec<Tail> = ServiceName::ALL
            .iter()
            .map(|service| {
                let path = logs_dir.join(format!("{service}.log"));
                let position = std::fs::metadata(&path).map_or(0, |m| m.len());
                Tail {
                    path,
                    position,
                    partial: String::new(),
                }
            })
            .collect();
        let (wake, woken) = watch::channel(0u64);
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if matches!(event, Ok(ref e) if matches!(e.kind, EventKind::Modify(_) | EventKind::Create(_)))
            {
                wake.send_modify(|count| *count += 1);
            }
        })
        .and_then(|mut watcher| {
            watcher.watch(logs_dir, RecursiveMode::NonRecursive)?;
            Ok(watcher)
        });
        match watcher {
            Ok(watcher) => {
                tokio::spawn(follow(inner.clone(), tails, watcher, woken, shutdown.clone()));
            }
            Err(error) => tracing::warn!(
                "Cannot watch {} for new log lines ({error}): the flow panel shows what was written when it opened",
                logs_dir.display()
            ),
        }
        Self { inner }
    }

    pub fn follow(&self, order_id: &str) -> FollowingLogs {
        let (sender, entries) = mpsc::channel(BACKLOG);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner
            .followers()
            .entry(order_id.to_owned())
            .or_default()
            .insert(id, sender);
        FollowingLogs {
            entries,
            inner: self.inner.clone(),
            order_id: order_id.to_owned(),
            id,
        }
    }
}

async fn follow(
    inner: Arc<Inner>,
    mut tails: Vec<Tail>,
    _watcher: notify::RecommendedWatcher,
    mut woken: watch::Receiver<u64>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = woken.changed() => if changed.is_err() { return },
        }
        let followed = !inner.followers().is_empty();
        let (read, kept) = tokio::task::spawn_blocking(move || {
            let read: Vec<String> = tails
                .iter_mut()
                .flat_map(|tail| tail.read(followed))
                .collect();
            (read, tails)
        })
        .await
        .unwrap_or_default();
        tails = kept;
        if tails.is_empty() {
            return;
        }
        for entry in read {
            dispatch(&inner, &entry);
        }
    }
}

fn dispatch(inner: &Inner, entry: &str) {
    let mut followers = inner.followers();
    for order_id in orders_named(entry) {
        let Some(panels) = followers.get_mut(&order_id) else {
            continue;
        };
        panels.retain(|_, panel| panel.try_send(entry.to_owned()).is_ok());
        if panels.is_empty() {
            followers.remove(&order_id);
        }
    }
}

impl Tail {
    /// The complete entries appended since the last read (none, and only the place moved on,
    /// when nobody follows).
    fn read(&mut self, wanted: bool) -> Vec<String> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let length = file.metadata().map_or(0, |m| m.len());
        if length < self.position {
            // Truncated or replaced: start again from its beginning.
            self.position = 0;
            self.partial.clear();
        }
        if !wanted {
            self.position = length;
            self.partial.clear();
            return Vec::new();
        }
        let mut appended = Vec::new();
        if file.seek(SeekFrom::Start(self.position)).is_err()
            || file.read_to_end(&mut appended).is_err()
        {
            return Vec::new();
        }
        self.position += appended.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&appended));
        // A service writes each entry (with its event lines) in one go, but a read may come in
        // the middle of a write: what follows the last line break, and an event entry still
        // short of its lines, wait for the next read.
        let Some(end) = self.partial.rfind('\n') else {
            return Vec::new();
        };
        let complete: String = self.partial.drain(..=end).collect();
        let mut read = entries(&complete);
        if read.last().is_some_and(|entry| !whole(entry)) {
            if let Some(unfinished) = read.pop() {
                self.partial.insert_str(0, &format!("{unfinished}\n"));
            }
        }
        read
    }
}
