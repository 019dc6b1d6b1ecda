//! `webapp [KAFKA_CONFIG_FILE] [SYS_CONFIG_FILE]`: serves the shop on `[webapp] bind`.

use std::process::ExitCode;

use anyhow::Context;
use webapp::startup::build_state;

fn main() -> ExitCode {
    common::app::run("webapp", |startup| async move {
        let bind = startup.sys.webapp.bind;
        let shutdown = startup.shutdown.clone();
        let state = build_state(&startup.kafka, startup.sys, &shutdown).await?;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind} ([webapp] bind)"))?;
        tracing::info!("Web app listening on http://{bind}");
        axum::serve(listener, webapp::router(state))
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await?;
        Ok(())
    })
}
