//! A kitchen service, declared once: its name, what it reads and writes, and what it does with
//! one event ([`Handler`]). [`run`] does the rest, the same way for every service: connect
//! what it sends with ([`context`]), run the one consume loop ([`consume`]), dead-letter what
//! can never be handled ([`dead_letter`]), leave cleanly.

pub mod consume;
pub mod context;
mod dead_letter;
mod offsets;

pub use consume::{run_consumer, Handler, RunnerError};
pub use context::ServiceContext;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::domain::wiring::ServiceName;
use crate::kafka::BrokerLag;
use crate::metrics::{Metrics, Refreshed};
use crate::settings::Settings;

pub trait Service: Handler + Sized {
    /// Which program it is; what it reads and writes is declared with the name
    /// ([`ServiceName::consumes`], [`ServiceName::produces`]), where the shop floor finds it too.
    const NAME: ServiceName;

    /// Whether its metrics report every consumer group's lag as the broker sees it
    /// (`kafka_consumergroup_*`). One program does, as a kafka_exporter would: the figures are
    /// wanted most while a group has no member left to report them.
    const REPORTS_EVERY_GROUPS_LAG: bool = false;

    /// Counters of its own, `(name, help)`, beside the shared figures; it counts with
    /// `ctx.metrics.count(name)`. Prometheus shows each as `<name>_total`.
    const COUNTERS: &'static [(&'static str, &'static str)] = &[];

    /// Builds the service once its producer is connected (opens its store, …).
    fn start(ctx: Arc<ServiceContext>) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// Work beside the consume loop until shutdown: the watchdog, retention clean-up.
    fn chores(self: Arc<Self>) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// The whole life of a service: configuration, logging, signals, connecting, consuming until
/// SIGINT or SIGTERM, leaving the group cleanly.
pub fn run<S: Service>() -> ExitCode {
    crate::runtime::app::run(S::NAME.as_str(), |settings, shutdown| async move {
        let metrics = serve_metrics::<S>(&settings, &shutdown).await;
        let ctx =
            ServiceContext::connect_with(S::NAME, settings, S::NAME.produces(), shutdown, metrics)
                .await?;
        let service = Arc::new(S::start(ctx.clone()).await?);
        let consume = run_consumer(ctx, S::NAME.consumes(), service.clone());
        let (consumed, ()) = tokio::join!(consume, service.chores());
        consumed?;
        Ok(())
    })
}

/// Starts the metrics listener before anything waits for the cluster, so a service stuck
/// connecting can be seen. A listener that cannot start costs the metrics, never the service.
async fn serve_metrics<S: Service>(
    settings: &Settings,
    shutdown: &CancellationToken,
) -> Arc<Metrics> {
    let sys = &settings.sys;
    let Some(address) = sys.metrics.of(S::NAME) else {
        return Arc::default();
    };
    let broker_lag = S::REPORTS_EVERY_GROUPS_LAG.then(|| {
        let groups = ServiceName::ALL.into_iter().filter_map(|service| {
            let group = sys.group_ids.of(service)?;
            let topics = sys.topics.names(service.consumes());
            Some((
                group.to_owned(),
                topics.into_iter().map(str::to_owned).collect(),
            ))
        });
        BrokerLag::new(
            &settings.kafka,
            sys.client_ids.of(S::NAME),
            groups.collect(),
        )
    });
    let refreshed = broker_lag.map(|lag| Arc::new(lag) as Arc<dyn Refreshed>);
    let metrics = Arc::new(Metrics::new(true, refreshed).with_counters(S::COUNTERS));
    match crate::metrics::serve(address, metrics.clone(), shutdown.clone()).await {
        Ok(_) => metrics,
        Err(error) => {
            tracing::warn!(
                "No metrics: {}",
                crate::runtime::logging::error_chain(&error)
            );
            Arc::new(Metrics::default())
        }
    }
}
