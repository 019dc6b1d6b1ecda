//! Background chores that run every so often until shutdown: the watchdog, and every store's
//! retention clean-up (`store::retention`).

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

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
