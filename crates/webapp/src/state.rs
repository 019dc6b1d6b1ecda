//! What the handlers share: one part per concern, each handed only to its own handlers
//! (axum's `FromRef`), so no concern reaches into another's.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;

use crate::http::metrics::WebMetrics;
use crate::lineage::LineageState;
use crate::live::LiveState;
use crate::orders::OrdersState;
use crate::session::SessionState;
use crate::shop_floor::FloorState;

/// Cloned for every request (axum hands each extractor its own copy), so every part is an `Arc`
/// or as cheap.
#[derive(Debug, Clone)]
pub struct AppState {
    pub sessions: Arc<SessionState>,
    pub orders: Arc<OrdersState>,
    pub live: Arc<LiveState>,
    pub lineage: Arc<LineageState>,
    pub floor: Arc<FloorState>,
    /// Encrypts and authenticates the session cookies.
    pub key: Key,
    /// Requests and streams, for Prometheus.
    pub web_metrics: WebMetrics,
    /// How long a request's body may take (`[webapp] request_deadline_seconds`).
    pub request_deadline: Duration,
}

macro_rules! part {
    ($part:ty, $field:ident) => {
        impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> Self {
                state.$field.clone()
            }
        }
    };
}

part!(Arc<SessionState>, sessions);
part!(Arc<OrdersState>, orders);
part!(Arc<LiveState>, live);
part!(Arc<LineageState>, lineage);
part!(Arc<FloorState>, floor);
part!(Key, key);
