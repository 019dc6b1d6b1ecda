//! Background chores that run every so often until shutdown: the watchdog, and every store's
//! retention clean-up.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::events::now_ms;
use crate::logging::error_chain;
use crate::store::StateStore;

/// How often a store forgets what is past its retention.
pub const RETENTION_PERIOD: Duration = Duration::from_secs(600);

/// Calls `chore` every `period` (the first time after one period) until `shutdown`.
pub async fn every<F, Fut>(period: Duration, shutdown: &CancellationToken, mut chore: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => chore().await,
        }
    }
}

/// Removes what `store` keeps past its configured retention: once at start (a service that was
/// down for a while catches up at once), then every `period`, until shutdown.
pub async fn retention(store: &dyn StateStore, period: Duration, shutdown: &CancellationToken) {
    let purge = || async {
        match store.purge_expired(now_ms()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!("Removed {purged} row(s) past their retention"),
            Err(error) => tracing::warn!("Retention clean-up failed: {}", error_chain(&error)),
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => return,
        () = purge() => {}
    }
    every(period, shutdown, purge).await;
}
