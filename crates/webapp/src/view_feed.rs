//! Follows the view's committed changes and hands each to the streams that follow its order or
//! its customer. One task per web app: it wakes when the store says the view changed (never on a
//! timer), reads the change rows after the last it has seen, and passes them on.
//!
//! A stream that cannot keep up loses its place (its channel is dropped, which ends it); the
//! browser reconnects with `Last-Event-ID` and catches up from the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::runtime::logging::error_chain;
use store::{OrderStore, StoreError, ViewChange};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Changes read from the store at a time.
const BATCH: usize = 500;
/// How often the place is moved on while nobody follows anything.
const PLACE_KEPT_EVERY: Duration = Duration::from_secs(1);
/// Changes a stream may have waiting before it counts as unable to keep up.
const BACKLOG: usize = 64;

type Followers = HashMap<String, HashMap<u64, mpsc::Sender<ViewChange>>>;

#[derive(Clone)]
pub struct ViewFeed {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ViewFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewFeed").finish_non_exhaustive()
    }
}

struct Inner {
    by_order: Mutex<Followers>,
    by_customer: Mutex<Followers>,
    next_id: AtomicU64,
}

/// Which of an order's or a customer's changes a stream receives, until it is dropped.
pub struct Following {
    pub changes: mpsc::Receiver<ViewChange>,
    inner: Arc<Inner>,
    key: String,
    id: u64,
    by_customer: bool,
}

impl std::fmt::Debug for Following {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Following")
            .field("key", &self.key)
            .field("id", &self.id)
            .field("by_customer", &self.by_customer)
            .finish_non_exhaustive()
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let mut followers = self.inner.followers(self.by_customer);
        if let Some(streams) = followers.get_mut(&self.key) {
            streams.remove(&self.id);
            if streams.is_empty() {
                followers.remove(&self.key);
            }
        }
    }
}

impl Inner {
    fn followers(&self, by_customer: bool) -> std::sync::MutexGuard<'_, Followers> {
        let followers = if by_customer {
            &self.by_customer
        } else {
            &self.by_order
        };
        followers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_followed(&self) -> bool {
        !self.followers(false).is_empty() || !self.followers(true).is_empty()
    }

    /// Hands a change to each stream following its order or customer; a stream whose backlog
    /// is full, or which is gone, is dropped.
    fn dispatch(&self, change: &ViewChange) {
        for (by_customer, key) in [(false, &change.order_id), (true, &change.customer_id)] {
            let mut followers = self.followers(by_customer);
            let Some(streams) = followers.get_mut(key) else {
                continue;
            };
            streams.retain(|_, stream| stream.try_send(change.clone()).is_ok());
            if streams.is_empty() {
                followers.remove(key);
            }
        }
    }
}

impl ViewFeed {
    /// Starts following the store's changes, from the newest one now, until `shutdown`.
    pub async fn start(
        store: Arc<dyn OrderStore>,
        shutdown: &CancellationToken,
    ) -> Result<Self, StoreError> {
        let inner = Arc::new(Inner {
            by_order: Mutex::default(),
            by_customer: Mutex::default(),
            next_id: AtomicU64::new(0),
        });
        let woken = store.watch_changes().await?;
        let last = store.last_change().await?;
        tokio::spawn(follow(store, inner.clone(), woken, last, shutdown.clone()));
        Ok(Self { inner })
    }

    pub fn follow_order(&self, order_id: &str) -> Following {
        self.follow(order_id, false)
    }

    pub fn follow_customer(&self, customer_id: &str) -> Following {
        self.follow(customer_id, true)
    }

    fn follow(&self, key: &str, by_customer: bool) -> Following {
        let (sender, changes) = mpsc::channel(BACKLOG);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner
            .followers(by_customer)
            .entry(key.to_owned())
            .or_default()
            .insert(id, sender);
        Following {
            changes,
            inner: self.inner.clone(),
            key: key.to_owned(),
            id,
            by_customer,
        }
    }
}

async fn follow(
    store: Arc<dyn OrderStore>,
    inner: Arc<Inner>,
    mut woken: tokio::sync::watch::Receiver<u64>,
    mut last: i64,
    shutdown: CancellationToken,
) {
    let mut placed = Instant::now();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = woken.changed() => if changed.is_err() { return },
        }
        // With nobody following, only the place is kept, and at most once a second: under load
        // the view changes hundreds of times a second, and a stream that starts later reads
        // its order's state from the store itself. The newest change is read before looking
        // again that nobody follows, so a stream that starts in between sees it in the state it
        // reads; one that starts while the place is up to a second old gets that second's
        // changes again, which it drops by their sequence numbers.
        if !inner.is_followed() {
            if placed.elapsed() < PLACE_KEPT_EVERY {
                continue;
            }
            match store.last_change().await {
                Ok(newest) if !inner.is_followed() => {
                    last = newest;
                    placed = Instant::now();
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!("Reading the view's changes: {}", error_chain(&error));
                    continue;
                }
            }
        }
        loop {
            match store.changes_after(last, BATCH).await {
                Ok(changes) => {
                    for change in &changes {
                        inner.dispatch(change);
                        last = change.seq;
                    }
                    if changes.len() < BATCH {
                        break;
                    }
                }
                Err(error) => {
                    // The next wake-up (the store says so when it is back) reads them.
                    tracing::warn!("Reading the view's changes: {}", error_chain(&error));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
    }
}
