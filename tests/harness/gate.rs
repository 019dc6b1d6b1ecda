//! Which tests may run beside which. The integration tests are one binary, so libtest runs
//! `--test-threads` of them at once, whichever come next by name. Most do not mind their
//! neighbours: they assert what happened, with patience for a busy machine. A test that measures
//! (a latency percentile, a load run), or that needs the broker to show a race of its own, would
//! see its neighbours too, so it runs alone: it takes [`alone`], which waits until no other test
//! holds a broker and keeps new ones from starting until it ends. Every [`Broker`](crate::Broker)
//! holds a [`Load`] for its life, so "a test with load" needs no line of its own; a test that
//! loads the machine without a harness broker (the demo scripts start their own) takes [`load`]
//! itself.
//!
//! The test that runs alone starts brokers of its own: those are recognised by the thread that
//! took [`alone`] (a `#[tokio::test]` body runs on the test's thread), so they do not wait for it.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::Duration;

struct State {
    /// Loads held, by the thread that took them: a test that already has load (a second
    /// broker) takes more without waiting, or it and a test waiting to run alone would wait for
    /// each other.
    loads: Vec<(ThreadId, usize)>,
    alone: Option<ThreadId>,
    /// Tests waiting to run alone go before new loads, or a steady stream of tests with brokers
    /// could keep them waiting to the end.
    waiting_alone: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    loads: Vec::new(),
    alone: None,
    waiting_alone: 0,
});
static CHANGED: Condvar = Condvar::new();

/// Longer than any test runs: a wait this long is a test waiting for itself (a broker started
/// off the thread that took [`alone`]), said instead of hanging.
const PATIENCE: Duration = Duration::from_secs(30 * 60);

fn state() -> MutexGuard<'static, State> {
    // A test that panicked while holding the lock left counts that its guards' drops still fix.
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn wait_while(
    guard: MutexGuard<'static, State>,
    what: &str,
    busy: impl FnMut(&mut State) -> bool,
) -> MutexGuard<'static, State> {
    let (guard, timeout) = CHANGED
        .wait_timeout_while(guard, PATIENCE, busy)
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    assert!(
        !timeout.timed_out(),
        "waited {PATIENCE:?} to {what}: is a broker started off the thread that runs alone?"
    );
    guard
}

/// Held by a test (or its broker) that puts load on the machine.
#[derive(Debug)]
pub struct Load {
    /// The thread it is counted under; none for the lone test's own brokers.
    holder: Option<ThreadId>,
}

/// A test with load: waits while a test runs alone.
pub fn load() -> Load {
    let me = std::thread::current().id();
    let mut state = state();
    if state.alone == Some(me) {
        // The lone test's own broker: it is the load the test measures.
        return Load { holder: None };
    }
    if let Some((_, count)) = state.loads.iter_mut().find(|(holder, _)| *holder == me) {
        *count += 1;
        return Load { holder: Some(me) };
    }
    state = wait_while(state, "start beside a test running alone", |s| {
        s.alone.is_some() || s.waiting_alone > 0
    });
    state.loads.push((me, 1));
    Load { holder: Some(me) }
}

impl Drop for Load {
    fn drop(&mut self) {
        let Some(holder) = self.holder else { return };
        let mut state = state();
        if let Some((_, count)) = state.loads.iter_mut().find(|(h, _)| *h == holder) {
            *count -= 1;
        }
        state.loads.retain(|(_, count)| *count > 0);
        CHANGED.notify_all();
    }
}

/// Held by a test that measures, for its whole run.
#[derive(Debug)]
pub struct Alone(());

/// Waits until no other test has load, then keeps the machine to this test until the guard
/// drops. Take it first thing in the test, before its broker.
pub fn alone() -> Alone {
    let mut state = state();
    state.waiting_alone += 1;
    state = wait_while(state, "run alone", |s| {
        !s.loads.is_empty() || s.alone.is_some()
    });
    state.waiting_alone -= 1;
    state.alone = Some(std::thread::current().id());
    Alone(())
}

impl Drop for Alone {
    fn drop(&mut self) {
        state().alone = None;
        CHANGED.notify_all();
    }
}
