//! Background chores that run every so often until shutdown (the watchdog, retention clean-up).

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

/// Retention periods are configured in hours.
pub fn hours_ago_ms(now_ms: i64, hours: f64) -> i64 {
    now_ms.saturating_sub((hours * 3_600_000.0) as i64)
}
