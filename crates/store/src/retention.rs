//! Every store's retention clean-up, a chore run every so often until shutdown
//! ([`common::runtime::periodic::every`]).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use common::domain::events::now_ms;
use common::runtime::logging::error_chain;
use common::runtime::periodic::every;

use crate::StateStore;

/// How often a store forgets what is past its retention.
pub const RETENTION_PERIOD: Duration = Duration::from_secs(600);

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
