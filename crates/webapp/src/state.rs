//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use common::kafka::Outbound;
use common::settings::SysSettings;
use store::OrderStore;
use tokio_util::sync::CancellationToken;

use crate::limits::WebLimits;
use crate::log_feed::LogFeed;
use crate::log_index::LogIndex;
use crate::rate_limit::RateLimit;
use crate::shop_floor::ShopFloor;
use crate::stream_limits::StreamLimits;
use crate::view_feed::ViewFeed;
use crate::web_metrics::WebMetrics;

/// Cloned for every request (axum hands each extractor its own copy), so it is one `Arc`.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub sys: Arc<SysSettings>,
    pub store: Arc<dyn OrderStore>,
    pub outbound: Outbound,
    pub key: Key,
    /// The view's changes, for the order pages' streams.
    pub view_feed: ViewFeed,
    /// New log entries, for the flow panels' streams.
    pub log_feed: LogFeed,
    /// Every order's log entries so far, for the flow panels.
    pub log_index: Arc<LogIndex>,
    /// The shop floor's readings of the broker, taken while someone watches.
    pub shop_floor: ShopFloor,
    pub streams: StreamLimits,
    /// Requests and streams, for Prometheus.
    pub web_metrics: WebMetrics,
    /// Deadlines, session lifetimes and each customer's share (`[webapp]`).
    pub limits: WebLimits,
    pub order_rate: RateLimit,
    pub log_rate: RateLimit,
    /// Streams end when it is cancelled, so a graceful shutdown is not held up by them.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("limits", &self.limits)
            .field("streams", &self.streams)
            .field("order_rate", &self.order_rate)
            .field("log_rate", &self.log_rate)
            .finish_non_exhaustive()
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.key.clone()
    }
}
