//! Follows the services' log files on this host and hands each new entry to the streams of the
//! orders it names, for the flow panel. It wakes when a file is written (a file-system watch), reads
//! only what was appended, and watches nothing while no panel is open: every line any service
//! logs would otherwise wake the watcher, a thousand times a second under load.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use common::domain::wiring::ServiceName;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::followers::{Follower, Followers};
use super::order_logs::{entries, orders_named, whole};

/// Entries a panel may have waiting before it counts as unable to keep up.
const BACKLOG: usize = 256;

#[derive(Clone)]
pub struct LogFeed {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LogFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFeed")
            .field("logs_dir", &self.inner.logs_dir)
            .finish_non_exhaustive()
    }
}

struct Inner {
    followers: Followers<String>,
    logs_dir: PathBuf,
    /// The watch, while any panel is open.
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
    wake: watch::Sender<u64>,
    /// Where the files ended when the first panel opened: new entries start there.
    restart_at: Mutex<Option<Vec<u64>>>,
}

impl Inner {
    fn watcher(&self) -> MutexGuard<'_, Option<notify::RecommendedWatcher>> {
        locked(&self.watcher)
    }

    /// Called with the followers locked, as the first panel opens: from here on, what is
    /// appended reaches the panels. The watch may still be there from the last panel.
    fn start_watching(&self) {
        let ends = log_paths(&self.logs_dir)
            .iter()
            .map(|path| std::fs::metadata(path).map_or(0, |m| m.len()))
            .collect();
        *locked(&self.restart_at) = Some(ends);
        if self.watcher().is_some() {
            return;
        }
        let wake = self.wake.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if matches!(event, Ok(ref e) if matches!(e.kind, EventKind::Modify(_) | EventKind::Create(_)))
            {
                wake.send_modify(|count| *count += 1);
            }
        })
        .and_then(|mut watcher| {
            watcher.watch(&self.logs_dir, RecursiveMode::NonRecursive)?;
            Ok(watcher)
        });
        match watcher {
            Ok(watcher) => *self.watcher() = Some(watcher),
            Err(error) => tracing::warn!(
                "Cannot watch {} for new log lines ({error}): the flow panel shows what was written when it opened",
                self.logs_dir.display()
            ),
        }
    }
}

/// A panic while a lock is held leaves the watch and places usable, so poisoning is ignored.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn log_paths(logs_dir: &Path) -> Vec<PathBuf> {
    ServiceName::ALL
        .iter()
        .map(|service| logs_dir.join(format!("{service}.log")))
        .collect()
}

/// An order's new log entries, until dropped.
pub struct FollowingLogs {
    // Before `entries`, so that the panel leaves the registry before its channel closes.
    follower: Follower<String>,
    pub entries: mpsc::Receiver<String>,
}

impl std::fmt::Debug for FollowingLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FollowingLogs")
            .field("follower", &self.follower)
            .finish_non_exhaustive()
    }
}

/// Where one log file has been read up to, and a line not yet finished there.
struct Tail {
    path: PathBuf,
    position: u64,
    partial: String,
}

impl LogFeed {
    /// Follows the log files in `logs_dir` while panels are open, until `shutdown`. Without a
    /// file-system watch (the folder cannot be watched), panels show what was written when they
    /// opened.
    pub fn start(logs_dir: &Path, shutdown: &CancellationToken) -> Self {
        let _ = std::fs::create_dir_all(logs_dir);
        let (wake, woken) = watch::channel(0u64);
        let inner = Arc::new(Inner {
            followers: Followers::new(BACKLOG),
            logs_dir: logs_dir.to_path_buf(),
            watcher: Mutex::default(),
            wake,
            restart_at: Mutex::default(),
        });
        let tails: Vec<Tail> = log_paths(logs_dir)
            .into_iter()
            .map(|path| Tail {
                path,
                position: 0,
                partial: String::new(),
            })
            .collect();
        tokio::spawn(follow(inner.clone(), tails, woken, shutdown.clone()));
        Self { inner }
    }

    pub fn follow(&self, order_id: &str) -> FollowingLogs {
        let mut followers = self.inner.followers.lock();
        if followers.is_empty() {
            self.inner.start_watching();
        }
        let (follower, entries) = followers.follow(order_id);
        drop(followers);
        FollowingLogs { follower, entries }
    }
}

async fn follow(
    inner: Arc<Inner>,
    mut tails: Vec<Tail>,
    mut woken: watch::Receiver<u64>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = woken.changed() => if changed.is_err() { return },
        }
        if let Some(ends) = locked(&inner.restart_at).take() {
            for (tail, end) in tails.iter_mut().zip(ends) {
                tail.position = end;
                tail.partial.clear();
            }
        }
        {
            // The last panel closed: stop watching until the next one opens.
            let followers = inner.followers.lock();
            if followers.is_empty() {
                inner.watcher().take();
                continue;
            }
        }
        let (read, kept) = tokio::task::spawn_blocking(move || {
            let read: Vec<String> = tails.iter_mut().flat_map(Tail::read).collect();
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
    let mut followers = inner.followers.lock();
    for order_id in orders_named(entry) {
        followers.send(&order_id, entry);
    }
}

impl Tail {
    /// The complete entries appended since the last read.
    fn read(&mut self) -> Vec<String> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let length = file.metadata().map_or(0, |m| m.len());
        if length < self.position {
            // Truncated or replaced: start again from its beginning.
            self.position = 0;
            self.partial.clear();
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
