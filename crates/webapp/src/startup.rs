//! Builds the app from configuration; the binary and the tests both start here.

use std::path::PathBuf;
use std::sync::Arc;

use common::contracts::Contracts;
use common::domain::wiring::ServiceName;
use common::kafka::{producer_config, EventProducer, Outbound};
use common::metrics::Metrics;
use common::settings::Settings;
use store::open_order_store;
use tokio_util::sync::CancellationToken;

use crate::limits::WebLimits;
use crate::log_feed::LogFeed;
use crate::log_index::LogIndex;
use crate::rate_limit::RateLimit;
use crate::session_key::session_key;
use crate::shop_floor::ShopFloor;
use crate::state::{AppState, Shared};
use crate::stream_limits::StreamLimits;
use crate::view_feed::ViewFeed;
use crate::web_metrics::WebMetrics;

/// [`build_state_with`] the default limits.
pub async fn build_state(
    settings: &Settings,
    logs_dir: PathBuf,
    shutdown: &CancellationToken,
) -> anyhow::Result<AppState> {
    build_state_with(settings, WebLimits::default(), logs_dir, shutdown).await
}

/// Where the app's figures go: both unserved unless the binary serves them.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub web: WebMetrics,
    /// Counts the events the producer sends.
    pub metrics: Arc<Metrics>,
}

/// [`build_state_observed`] with figures served nowhere.
pub async fn build_state_with(
    settings: &Settings,
    limits: WebLimits,
    logs_dir: PathBuf,
    shutdown: &CancellationToken,
) -> anyhow::Result<AppState> {
    build_state_observed(settings, limits, logs_dir, shutdown, Observed::default()).await
}

pub async fn build_state_observed(
    settings: &Settings,
    limits: WebLimits,
    logs_dir: PathBuf,
    shutdown: &CancellationToken,
    observed: Observed,
) -> anyhow::Result<AppState> {
    let sys = &settings.sys;
    let store = open_order_store(&sys.orders_store).await?;
    let key = session_key(&sys.webapp.session_key_file)?;
    let client_id = sys.client_ids.of(ServiceName::Webapp);
    let config = producer_config(&settings.kafka, client_id);
    let topics = [sys.topics.ordered.as_str(), sys.topics.status.as_str()];
    observed.metrics.writing(&topics);
    let producer = EventProducer::connect(&config, &topics, shutdown)
        .await?
        .counted(observed.metrics)
        .bound_by(Contracts::shop()?, &sys.topics);
    Ok(AppState::new(Shared {
        outbound: Outbound::new(
            producer,
            settings,
            ServiceName::Webapp.produces(),
            client_id,
            shutdown,
        )
        .await,
        view_feed: ViewFeed::start(store.clone(), shutdown).await?,
        log_feed: LogFeed::start(&logs_dir, shutdown),
        log_index: Arc::new(LogIndex::new(&logs_dir)),
        shop_floor: ShopFloor::new(settings, store.clone(), shutdown),
        streams: StreamLimits::counted(
            sys.webapp.max_streams_per_customer,
            sys.webapp.max_streams,
            observed.web.streams_open(),
        ),
        web_metrics: observed.web,
        order_rate: RateLimit::per_minute("ordered", limits.orders_per_minute),
        log_rate: RateLimit::per_minute("asked for the log panel", limits.log_reads_per_minute),
        limits,
        shutdown: shutdown.clone(),
        sys: Arc::new(sys.clone()),
        store,
        key,
    }))
}
