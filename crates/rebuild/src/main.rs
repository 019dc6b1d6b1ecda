//! `rebuild [KAFKA_CONFIG [SYS_CONFIG]]`: builds the orders view and delivery's memory again
//! from the topics, with the shop running or not. The topics are the history; the stores are
//! derived from them, so they can be derived again: after a database was lost, or to give a view
//! a new shape.
//!
//! It reads every event the cluster keeps and folds it by the live services' rules
//! ([`replay`]), writes the result into tables beside the live ones, catches up with what
//! arrived meanwhile, and switches each store in one transaction that reads the last events
//! while it holds the live tables (`store::rebuild`). Killed at any point, it leaves the live
//! stores as they were; a second rebuild while one runs is refused.

mod reading;
mod replay;
mod report;

use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use common::domain::events::now_ms;
use common::settings::Settings;
use store::rebuild::{Aside, Stuck, Switch, Switched};
use store::{delivery_aside, lock_rebuild, orders_aside};

use reading::{History, Read};
use replay::Replay;
use report::Report;

/// Reads before the switches while the last one found more than this many new events: the
/// switch then holds the live tables only as long as the last few take.
const SMALL_TAIL: u64 = 1_000;
const MOST_CATCH_UPS: usize = 5;

/// What the live stores changed this long before the rebuild began counts as newer than what it
/// read: event times and row times come from other hosts' clocks.
const CLOCK_SLACK_MS: i64 = 60_000;

fn main() -> ExitCode {
    common::runtime::app::run("rebuild", run)
}

async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let began = Instant::now();
    let since_ms = now_ms() - CLOCK_SLACK_MS;
    let sys = &settings.sys;
    let _lock = lock_rebuild(&[&sys.orders_store.location, &sys.delivery_store.location]).await?;
    tracing::info!(
        "Rebuilding the orders view ({}) and delivery's store ({}) from the topics",
        sys.orders_store.location,
        sys.delivery_store.location
    );
    let mut orders = orders_aside(&sys.orders_store).await?;
    let mut delivery = delivery_aside(&sys.delivery_store).await?;
    let folding = Folding {
        state: Arc::new(Mutex::new((
            History::new(&settings.kafka, sys).context("cannot read the topics")?,
            Replay::new(sys),
        ))),
        shutdown,
    };

    let first_read = folding.read_on(true).await?;
    folding
        .write_aside(orders.as_mut(), delivery.as_mut())
        .await?;
    // What arrived while the history was read and written, until little more arrives.
    for _ in 0..MOST_CATCH_UPS {
        let caught_up = folding.read_on(false).await?;
        folding
            .write_aside(orders.as_mut(), delivery.as_mut())
            .await?;
        if caught_up.events <= SMALL_TAIL {
            break;
        }
    }

    let timeout_ms = (sys.orders_store.status_invalid_timeout_minutes * 60_000.0) as i64;
    let watchdog = |now: i64| Stuck {
        cutoff_ms: now - timeout_ms,
        status: sys.status.ids.stuck,
    };
    let orders = folding
        .switch(orders, Replay::view_rows, since_ms, |now| {
            Some(watchdog(now))
        })
        .await?;
    let delivery = folding
        .switch(delivery, Replay::delivery_rows, since_ms, |_| None)
        .await?;

    let state = folding.lock();
    let replay = &state.1;
    Report {
        tally: replay.tally().clone(),
        incomplete: replay.incomplete(),
        expired: replay.expired(now_ms()),
        first_read,
        orders,
        delivery,
        took: began.elapsed(),
    }
    .log(sys);
    Ok(())
}

/// The history and what it is folded into, shared with the blocking threads that read it.
struct Folding {
    state: Arc<Mutex<(History, Replay)>>,
    shutdown: CancellationToken,
}

impl Folding {
    fn lock(&self) -> MutexGuard<'_, (History, Replay)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads on to the end each topic has now, on a blocking thread; stops when the program is
    /// asked to.
    async fn read_on(&self, progress: bool) -> anyhow::Result<Read> {
        let (state, shutdown) = (self.state.clone(), self.shutdown.clone());
        let read = tokio::task::spawn_blocking(move || {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let (history, replay) = &mut *state;
            history.read_on(replay, &|| shutdown.is_cancelled(), progress)
        })
        .await
        .context("the thread reading the history stopped")?;
        read.context("the live stores are as they were")
    }

    /// Writes every row that changed since the last write into the tables aside.
    async fn write_aside(
        &self,
        orders: &mut dyn Aside<store::rebuild::ViewRow>,
        delivery: &mut dyn Aside<store::rebuild::DeliveryRow>,
    ) -> anyhow::Result<()> {
        let now = now_ms();
        let (view_rows, delivery_rows) = {
            let mut state = self.lock();
            (state.1.view_rows(now), state.1.delivery_rows(now))
        };
        orders.write(view_rows).await?;
        delivery.write(delivery_rows).await?;
        Ok(())
    }

    /// Holds the live tables of one store, reads what arrived since the last read, writes what
    /// it changed, and switches.
    async fn switch<Row: Send + 'static>(
        &self,
        mut aside: Box<dyn Aside<Row>>,
        rows: fn(&mut Replay, i64) -> Vec<Row>,
        since_ms: i64,
        stuck: impl Fn(i64) -> Option<Stuck>,
    ) -> anyhow::Result<Switched> {
        aside.lock_live().await?;
        self.read_on(false).await?;
        let now = now_ms();
        let changed = rows(&mut self.lock().1, now);
        aside.write(changed).await?;
        Ok(aside
            .switch(Switch {
                since_ms,
                now_ms: now,
                stuck: stuck(now),
            })
            .await?)
    }
}
