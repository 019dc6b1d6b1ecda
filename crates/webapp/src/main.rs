//! `webapp [KAFKA_CONFIG_FILE] [SYS_CONFIG_FILE]`: serves the shop on `[webapp] bind`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use common::logging::LOG_FOLDER;
use common::services::ServiceName;
use webapp::startup::build_state;

fn main() -> ExitCode {
    common::app::run(
        ServiceName::Webapp.as_str(),
        |settings, shutdown| async move {
            let bind = settings.sys.webapp.bind;
            let state = build_state(&settings, PathBuf::from(LOG_FOLDER), &shutdown).await?;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind} ([webapp] bind)"))?;
            // The address actually bound: with port 0 in the configuration, the system picks one.
            let address = listener.local_addr()?;
            tracing::info!("Web app listening on http://{address}");
            axum::serve(listener, webapp::router(state))
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await?;
            Ok(())
        },
    )
}
