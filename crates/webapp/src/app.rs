//! Builds the web app from configuration, once: the binary runs [`run`]; the tests call
//! [`build_state`] with a recorder in place of Kafka and serve [`crate::routes::router`] without
//! a listener.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use common::contracts::Contracts;
use common::domain::wiring::ServiceName;
use common::kafka::{producer_config, EventProducer, EventSink, Outbound};
use common::metrics::Metrics;
use common::runtime::logging::{error_chain, LOG_FOLDER};
use common::settings::Settings;
use store::open_order_store;
use tokio_util::sync::CancellationToken;

use crate::http::connections::{connection_cap, descriptor_limit};
use crate::http::metrics::WebMetrics;
use crate::http::rate_limit::RateLimit;
use crate::http::serve::{serve, ServeOptions};
use crate::http::stream_limits::StreamLimits;
use crate::lineage::LineageState;
use crate::live::log_feed::LogFeed;
use crate::live::log_index::LogIndex;
use crate::live::view_feed::ViewFeed;
use crate::live::LiveState;
use crate::orders::OrdersState;
use crate::session::key::session_key;
use crate::session::SessionState;
use crate::shop_floor::{FloorState, ShopFloor};
use crate::state::AppState;

/// The whole web app: its metrics, its producer, its state, its listener, until `shutdown`.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let webapp = &settings.sys.webapp;
    let descriptors = descriptor_limit();
    let max_connections = connection_cap(webapp.max_connections, descriptors);
    if webapp
        .max_connections
        .is_some_and(|asked| asked > max_connections)
    {
        tracing::warn!(
            "[webapp] max_connections lowered to {max_connections}, below the limit of {} open \
             files",
            descriptors.unwrap_or_default()
        );
    }
    let (web, metrics) = serve_metrics(&settings, &shutdown).await;
    let events = connect_events(&settings, &shutdown, metrics).await?;
    let state = build_state(&settings, events, Path::new(LOG_FOLDER), &shutdown, web).await?;
    let bind = webapp.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} ([webapp] bind)"))?;
    // The address actually bound: with port 0 in the configuration, the system picks one.
    let address = listener.local_addr()?;
    tracing::info!("Web app listening on http://{address}");
    let options = ServeOptions {
        request_deadline: webapp.request_deadline,
        max_connections,
    };
    serve(listener, crate::routes::router(state), options, shutdown).await;
    Ok(())
}

/// Starts the metrics listener before anything waits for the cluster, as the kitchen services
/// do. A listener that cannot start costs the metrics, never the shop.
async fn serve_metrics(
    settings: &Settings,
    shutdown: &CancellationToken,
) -> (WebMetrics, Arc<Metrics>) {
    let web = WebMetrics::default();
    let Some(address) = settings.sys.metrics.of(ServiceName::Webapp) else {
        return (web, Arc::default());
    };
    let mut metrics = Metrics::new(true, None);
    web.register(metrics.registry_mut());
    let metrics = Arc::new(metrics);
    match common::metrics::serve(address, metrics.clone(), shutdown.clone()).await {
        Ok(_) => (web, metrics),
        Err(error) => {
            tracing::warn!("No metrics: {}", error_chain(&error));
            (WebMetrics::default(), Arc::default())
        }
    }
}

/// Where orders go: a producer for `pizza-ordered` and `pizza-status`, checking each event
/// against its contract and counting what it sends in `metrics`, and who writes the statuses.
pub async fn connect_events(
    settings: &Settings,
    shutdown: &CancellationToken,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Arc<dyn EventSink>> {
    let sys = &settings.sys;
    let client_id = sys.client_ids.of(ServiceName::Webapp);
    let config = producer_config(&settings.kafka, client_id);
    let topics = [sys.topics.ordered.as_str(), sys.topics.status.as_str()];
    metrics.writing(&topics);
    let producer = EventProducer::connect(&config, &topics, shutdown)
        .await?
        .counted(metrics)
        .bound_by(Contracts::shop()?, &sys.topics);
    let webapp = ServiceName::Webapp;
    Ok(Arc::new(
        Outbound::new(
            producer,
            settings,
            webapp,
            webapp.produces(),
            client_id,
            shutdown,
        )
        .await,
    ))
}

/// The handlers' state: the orders store, the session key, the feeds the live pages follow,
/// the shop floor and every limit, all from `settings`, with orders going to `events`.
pub async fn build_state(
    settings: &Settings,
    events: Arc<dyn EventSink>,
    logs_dir: &Path,
    shutdown: &CancellationToken,
    web: WebMetrics,
) -> anyhow::Result<AppState> {
    let sys = Arc::new(settings.sys.clone());
    let webapp = &sys.webapp;
    let store = open_order_store(&sys.orders_store).await?;
    let streams = StreamLimits::counted(
        webapp.max_streams_per_customer,
        webapp.max_streams,
        web.streams_open(),
    );
    let logs_dir = PathBuf::from(logs_dir);
    let client_id = sys.client_ids.of(ServiceName::Webapp).to_owned();
    let lookups = Arc::new(RateLimit::per_minute(
        "looked into the topics",
        webapp.lookups_per_minute,
    ));
    Ok(AppState {
        sessions: Arc::new(SessionState {
            store: store.clone(),
            idle: webapp.session_idle,
            lifetime: webapp.session_lifetime,
        }),
        orders: Arc::new(OrdersState {
            sys: sys.clone(),
            store: store.clone(),
            events: events.clone(),
            order_rate: RateLimit::per_minute("ordered", webapp.orders_per_minute),
            shutdown: shutdown.clone(),
        }),
        live: Arc::new(LiveState {
            sys: sys.clone(),
            orders: store.clone(),
            changes: store.clone(),
            view_feed: ViewFeed::start(store.clone(), shutdown).await?,
            log_feed: LogFeed::start(&logs_dir, shutdown),
            log_index: Arc::new(LogIndex::new(&logs_dir)),
            streams: streams.clone(),
            log_rate: RateLimit::per_minute("asked for the log panel", webapp.log_reads_per_minute),
            shutdown: shutdown.clone(),
        }),
        lineage: Arc::new(LineageState {
            sys: sys.clone(),
            kafka: settings.kafka.clone(),
            client_id: client_id.clone(),
            orders: store.clone(),
            lookups: lookups.clone(),
        }),
        floor: Arc::new(FloorState::new(
            ShopFloor::new(settings, store.clone(), events, logs_dir.clone(), shutdown),
            streams,
            shutdown.clone(),
            sys.clone(),
            settings.kafka.clone(),
            client_id,
            store,
            lookups,
        )),
        key: session_key(&webapp.session_key_file)?,
        request_deadline: webapp.request_deadline,
        web_metrics: web,
    })
}
