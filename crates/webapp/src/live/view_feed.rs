//! Follows the view's committed changes and hands each to the streams that follow its order or
//! its customer. One task per web app: it wakes when the store says the view changed (never on a
//! timer), reads the change rows after the last it has seen, and passes them on.
//!
//! A stream that cannot keep up loses its place (its channel is dropped, which ends it); the
//! browser reconnects with `Last-Event-ID` and catches up from the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::runtime::logging::error_chain;
use store::{ChangeFeed, StoreError, ViewChange};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::followers::{Follower, Followers};

/// Changes read from the store at a time.
const BATCH: usize = 500;
/// How often the place is moved on while nobody follows anything.
const PLACE_KEPT_EVERY: Duration = Duration::from_secs(1);
/// Changes a stream may have waiting before it counts as unable to keep up.
const BACKLOG: usize = 64;

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
    by_order: Followers<ViewChange>,
    by_customer: Followers<ViewChange>,
}

/// Which of an order's or a customer's changes a stream receives, until it is dropped.
pub struct Following {
    // Before `changes`, so that the stream leaves the registry before its channel closes.
    follower: Follower<ViewChange>,
    pub changes: mpsc::Receiver<ViewChange>,
}

impl std::fmt::Debug for Following {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Following")
            .field("follower", &self.follower)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn is_followed(&self) -> bool {
        !self.by_order.is_empty() || !self.by_customer.is_empty()
    }

    /// Hands a change to each stream following its order or customer; a stream whose backlog
    /// is full, or which is gone, is dropped.
    fn dispatch(&self, change: &ViewChange) {
        self.by_order.send(&change.order_id, change);
        self.by_customer.send(&change.customer_id, change);
    }
}

impl ViewFeed {
    /// Starts following the store's changes, from the newest one now, until `shutdown`.
    pub async fn start(
        store: Arc<dyn ChangeFeed>,
        shutdown: &CancellationToken,
    ) -> Result<Self, StoreError> {
        let inner = Arc::new(Inner {
            by_order: Followers::new(BACKLOG),
            by_customer: Followers::new(BACKLOG),
        });
        let woken = store.watch_changes().await?;
        let last = store.last_change().await?;
        tokio::spawn(follow(store, inner.clone(), woken, last, shutdown.clone()));
        Ok(Self { inner })
    }

    pub fn follow_order(&self, order_id: &str) -> Following {
        let (follower, changes) = self.inner.by_order.follow(order_id);
        Following { follower, changes }
    }

    pub fn follow_customer(&self, customer_id: &str) -> Following {
        let (follower, changes) = self.inner.by_customer.follow(customer_id);
        Following { follower, changes }
    }
}

async fn follow(
    store: Arc<dyn ChangeFeed>,
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
