//! The streams that follow something by key (an order, a customer), for the feeds that hand on
//! what they read. Each stream has its own bounded channel and follows until its [`Follower`] is
//! dropped. One that cannot keep up (its channel is full) or has gone (its receiver is dropped)
//! is dropped at the next send, which ends it: a feed never waits for its slowest stream, and
//! the page catches up when it reconnects.
//!
//! A feed that must act as the first stream opens, or once the last has closed, does so through
//! [`Locked`], so that no stream opens or closes in between.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

type Streams<T> = HashMap<String, HashMap<u64, mpsc::Sender<T>>>;

pub(crate) struct Followers<T> {
    streams: Arc<Mutex<Streams<T>>>,
    next_id: AtomicU64,
    backlog: usize,
}

impl<T> std::fmt::Debug for Followers<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Followers")
            .field("backlog", &self.backlog)
            .finish_non_exhaustive()
    }
}

/// The registry, locked: what is done through it happens with no stream opening or closing.
/// A [`Follower`] of the same registry must not be dropped while it is held, on the same
/// thread: taking itself out, it would wait for this lock.
pub(crate) struct Locked<'a, T> {
    followers: &'a Followers<T>,
    streams: MutexGuard<'a, Streams<T>>,
}

/// One stream's place in the registry; dropping it takes the stream out.
pub(crate) struct Follower<T> {
    streams: Arc<Mutex<Streams<T>>>,
    key: String,
    id: u64,
}

impl<T> std::fmt::Debug for Follower<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("key", &self.key)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A panic while the lock is held leaves the map usable, so poisoning is ignored.
fn locked<T>(streams: &Mutex<Streams<T>>) -> MutexGuard<'_, Streams<T>> {
    streams.lock().unwrap_or_else(|p| p.into_inner())
}

impl<T> Followers<T> {
    /// `backlog`: what a stream may have waiting before it counts as unable to keep up.
    pub(crate) fn new(backlog: usize) -> Self {
        Self {
            streams: Arc::default(),
            next_id: AtomicU64::new(0),
            backlog,
        }
    }

    pub(crate) fn lock(&self) -> Locked<'_, T> {
        Locked {
            followers: self,
            streams: locked(&self.streams),
        }
    }

    pub(crate) fn follow(&self, key: &str) -> (Follower<T>, mpsc::Receiver<T>) {
        self.lock().follow(key)
    }

    pub(crate) fn send<Q>(&self, key: &str, item: &Q)
    where
        Q: ToOwned<Owned = T> + ?Sized,
    {
        self.lock().send(key, item);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

impl<T> Locked<'_, T> {
    pub(crate) fn follow(&mut self, key: &str) -> (Follower<T>, mpsc::Receiver<T>) {
        let (sender, receiver) = mpsc::channel(self.followers.backlog);
        let id = self.followers.next_id.fetch_add(1, Ordering::Relaxed);
        self.streams
            .entry(key.to_owned())
            .or_default()
            .insert(id, sender);
        let follower = Follower {
            streams: self.followers.streams.clone(),
            key: key.to_owned(),
            id,
        };
        (follower, receiver)
    }

    /// Hands a copy of `item` to each stream following `key`; a stream whose backlog is full,
    /// or which is gone, is dropped.
    pub(crate) fn send<Q>(&mut self, key: &str, item: &Q)
    where
        Q: ToOwned<Owned = T> + ?Sized,
    {
        let Some(streams) = self.streams.get_mut(key) else {
            return;
        };
        streams.retain(|_, stream| stream.try_send(item.to_owned()).is_ok());
        if streams.is_empty() {
            self.streams.remove(key);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

impl<T> Drop for Follower<T> {
    fn drop(&mut self) {
        let mut followers = locked(&self.streams);
        if let Some(streams) = followers.get_mut(&self.key) {
            streams.remove(&self.id);
            if streams.is_empty() {
                followers.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc::error::TryRecvError;

    use super::*;

    fn keys<T>(followers: &Followers<T>) -> Vec<String> {
        let mut keys: Vec<String> = followers.lock().streams.keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn a_follower_gets_what_is_sent_to_its_key_only() {
        let followers = Followers::<u32>::new(4);
        let (_a, mut a) = followers.follow("a");
        let (_b, mut b) = followers.follow("b");
        followers.send("a", &1);
        followers.send("c", &3);
        assert_eq!(a.try_recv(), Ok(1));
        assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn each_follower_of_a_key_gets_its_own_copy() {
        let followers = Followers::<String>::new(4);
        let (_first, mut first) = followers.follow("a");
        let (_second, mut second) = followers.follow("a");
        followers.send("a", "entry");
        assert_eq!(first.try_recv().as_deref(), Ok("entry"));
        assert_eq!(second.try_recv().as_deref(), Ok("entry"));
    }

    #[test]
    fn dropping_the_follower_takes_it_out_and_the_key_goes_with_the_last() {
        let followers = Followers::<u32>::new(4);
        let (first, mut first_receiver) = followers.follow("a");
        let (second, mut second_receiver) = followers.follow("a");
        drop(first);
        assert_eq!(keys(&followers), ["a"]);
        followers.send("a", &1);
        assert_eq!(first_receiver.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(second_receiver.try_recv(), Ok(1));
        drop(second);
        assert!(followers.is_empty());
    }

    #[test]
    fn a_closed_receiver_is_pruned_on_send() {
        let followers = Followers::<u32>::new(4);
        let (closed, receiver) = followers.follow("a");
        let (_open, mut open) = followers.follow("b");
        drop(receiver);
        followers.send("a", &1);
        assert_eq!(keys(&followers), ["b"]);
        // Its key already gone, the follower has nothing left to take out.
        drop(closed);
        assert_eq!(keys(&followers), ["b"]);
        followers.send("b", &2);
        assert_eq!(open.try_recv(), Ok(2));
    }

    #[test]
    fn a_follower_that_cannot_keep_up_loses_its_place() {
        let followers = Followers::<u32>::new(1);
        let (_slow, mut slow) = followers.follow("a");
        followers.send("a", &1);
        followers.send("a", &2);
        assert!(followers.is_empty());
        assert_eq!(slow.try_recv(), Ok(1));
        assert_eq!(slow.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn the_locked_view_sees_its_own_follower() {
        let followers = Followers::<u32>::new(4);
        let mut locked = followers.lock();
        assert!(locked.is_empty());
        let (follower, mut receiver) = locked.follow("a");
        assert!(!locked.is_empty());
        locked.send("a", &1);
        drop(locked);
        assert_eq!(receiver.try_recv(), Ok(1));
        drop(follower);
        assert!(followers.is_empty());
    }

    #[test]
    fn a_follower_may_outlive_the_registry() {
        let followers = Followers::<u32>::new(4);
        let (follower, _receiver) = followers.follow("a");
        drop(followers);
        drop(follower);
    }
}
