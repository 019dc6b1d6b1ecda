//! The start and end of every binary: arguments, configuration, logging, signals, exit code.

use std::future::Future;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::settings::{config_paths, ConfigPaths, KafkaSettings, SysSettings};

/// What a service's body starts from.
pub struct Startup {
    pub paths: ConfigPaths,
    pub kafka: KafkaSettings,
    pub sys: SysSettings,
    pub shutdown: CancellationToken,
}

/// Runs a service: a configuration problem stops it with one line on stderr and exit code 1;
/// a clean shutdown exits 0.
pub fn run<F, Fut>(service: &'static str, body: F) -> ExitCode
where
    F: FnOnce(Startup) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let paths = match config_paths(&args) {
        Ok(paths) => paths,
        Err(reason) if reason.is_empty() => {
            println!("usage: {service} {}", crate::settings::USAGE_ARGS);
            return ExitCode::SUCCESS;
        }
        Err(reason) => {
            eprintln!("{service}: {reason}");
            eprintln!("usage: {service} {}", crate::settings::USAGE_ARGS);
            return ExitCode::FAILURE;
        }
    };
    let settings = KafkaSettings::load(&paths.kafka)
        .and_then(|kafka| Ok((kafka, SysSettings::load(&paths.sys)?)));
    let (kafka, sys) = match settings {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{service}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _log = match crate::logging::init(service) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!(
                "{service}: cannot open the log file in {}/: {error}",
                crate::logging::LOG_FOLDER
            );
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let shutdown = crate::shutdown::on_signals()?;
        tracing::info!(
            "Starting {service} with {} and {}",
            paths.kafka.display(),
            paths.sys.display()
        );
        body(Startup {
            paths,
            kafka,
            sys,
            shutdown,
        })
        .await
    });
    match outcome {
        Ok(()) => {
            tracing::info!("Graceful shutdown completed");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!("{service} stopped: {error:#}");
            ExitCode::FAILURE
        }
    }
}
