//! Following orders live: the view's changes ([`view_feed`]) and the services' log entries
//! ([`log_feed`], [`log_index`], [`order_logs`]) pushed to the pages that follow them as
//! server-sent events ([`streams`]), one registry of followers for both ([`followers`]); and the
//! flow panel's first look at an order's entries ([`log_panel`]).

mod followers;
pub mod log_feed;
pub mod log_index;
pub mod log_panel;
pub mod order_logs;
pub mod streams;
pub mod view_feed;

use std::sync::Arc;

use common::settings::SysSettings;
use store::{ChangeFeed, Orders};
use tokio_util::sync::CancellationToken;

use self::log_feed::LogFeed;
use self::log_index::LogIndex;
use self::view_feed::ViewFeed;
use crate::http::rate_limit::RateLimit;
use crate::http::stream_limits::StreamLimits;

/// What the live streams and the flow panel need.
pub struct LiveState {
    pub sys: Arc<SysSettings>,
    /// The orders, to check whose each one is and to list a customer's.
    pub orders: Arc<dyn Orders>,
    /// The view's changes, for a reconnecting page to catch up.
    pub changes: Arc<dyn ChangeFeed>,
    /// The view's changes, for the order pages' streams.
    pub view_feed: ViewFeed,
    /// New log entries, for the flow panels' streams.
    pub log_feed: LogFeed,
    /// Every order's log entries so far, for the flow panels.
    pub log_index: Arc<LogIndex>,
    /// The caps on open streams, shared with the shop floor's.
    pub streams: StreamLimits,
    /// `[webapp] log_reads_per_minute`.
    pub log_rate: RateLimit,
    /// Streams end when it is cancelled, so a graceful shutdown is not held up by them.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for LiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveState")
            .field("streams", &self.streams)
            .field("log_rate", &self.log_rate)
            .finish_non_exhaustive()
    }
}
