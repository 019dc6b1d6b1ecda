//! `webapp [KAFKA_CONFIG_FILE] [SYS_CONFIG_FILE]`: serves the shop on `[webapp] bind`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use common::domain::wiring::ServiceName;
use common::metrics::Metrics;
use common::runtime::logging::LOG_FOLDER;
use common::settings::{config_paths, Invocation, Settings};
use tokio_util::sync::CancellationToken;
use webapp::limits::{descriptor_limit, WebLimits};
use webapp::serve::{serve, ServeOptions};
use webapp::startup::{build_state_observed, Observed};
use webapp::web_metrics::WebMetrics;

fn main() -> ExitCode {
    common::runtime::app::run(
        ServiceName::Webapp.as_str(),
        |settings, shutdown| async move {
            let limits = web_limits()?;
            let bind = settings.sys.webapp.bind;
            let descriptors = descriptor_limit();
            let max_connections = limits.connection_cap(descriptors);
            if limits
                .max_connections
                .is_some_and(|asked| asked > max_connections)
            {
                tracing::warn!(
                    "[webapp] max_connections lowered to {max_connections}, below the limit of \
                     {} open files",
                    descriptors.unwrap_or_default()
                );
            }
            let options = ServeOptions {
                request_deadline: limits.request_deadline,
                max_connections,
            };
            let observed = serve_metrics(&settings, &shutdown).await;
            let logs_dir = PathBuf::from(LOG_FOLDER);
            let state =
                build_state_observed(&settings, limits, logs_dir, &shutdown, observed).await?;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind} ([webapp] bind)"))?;
            // The address actually bound: with port 0 in the configuration, the system picks one.
            let address = listener.local_addr()?;
            tracing::info!("Web app listening on http://{address}");
            serve(listener, webapp::router(state), options, shutdown).await;
            Ok(())
        },
    )
}

/// The web app's own `[webapp]` keys, from the same system file the shared settings came from.
fn web_limits() -> anyhow::Result<WebLimits> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match config_paths(&args)? {
        Invocation::Run(paths) => Ok(WebLimits::load(&paths.sys)?),
        Invocation::Help => Ok(WebLimits::default()),
    }
}

/// Starts the metrics listener before anything waits for the cluster, as the kitchen services
/// do. A listener that cannot start costs the metrics, never the shop.
async fn serve_metrics(settings: &Settings, shutdown: &CancellationToken) -> Observed {
    let Some(address) = settings.sys.metrics.of(ServiceName::Webapp) else {
        return Observed::default();
    };
    let web = WebMetrics::default();
    let mut metrics = Metrics::new(true, None);
    web.register(metrics.registry_mut());
    let metrics = Arc::new(metrics);
    match common::metrics::serve(address, metrics.clone(), shutdown.clone()).await {
        Ok(_) => Observed { web, metrics },
        Err(error) => {
            tracing::warn!(
                "No metrics: {}",
                common::runtime::logging::error_chain(&error)
            );
            Observed::default()
        }
    }
}
