//! The start and end of every binary: arguments, configuration, logging, signals, exit code.

use std::future::Future;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::settings::{config_paths, process_vars, Invocation, Settings, USAGE_ARGS};

/// Runs a program: a usage or configuration problem stops it with one line on stderr and exit
/// code 1; a clean shutdown exits 0.
pub fn run<F, Fut>(name: &'static str, body: F) -> ExitCode
where
    F: FnOnce(Settings, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    run_with(name, USAGE_ARGS, &args, body)
}

/// [`run`] for a program with arguments of its own before the configuration files: `args` are
/// what is left for those, and `usage` what its usage line says after its name.
pub fn run_with<F, Fut>(name: &'static str, usage: &str, args: &[String], body: F) -> ExitCode
where
    F: FnOnce(Settings, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let paths = match config_paths(args) {
        Ok(Invocation::Run(paths)) => paths,
        Ok(Invocation::Help) => {
            println!("usage: {name} {usage}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("{name}: {problem}");
            eprintln!("usage: {name} {usage}");
            return ExitCode::FAILURE;
        }
    };
    let loaded = process_vars().and_then(|vars| Settings::load_with_env(&paths, vars));
    let (settings, from_environment) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("{name}: {error}");
            return ExitCode::FAILURE;
        }
    };
    // A contract that does not compile would leave its topic unchecked: stop, naming its file.
    if let Err(error) = crate::contracts::Contracts::shop() {
        eprintln!("{name}: {error}");
        return ExitCode::FAILURE;
    }
    if let Err(error) = crate::runtime::logging::init(name) {
        eprintln!(
            "{name}: cannot open the log file in {}/: {error}",
            crate::runtime::logging::LOG_FOLDER
        );
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let shutdown = crate::runtime::shutdown::on_signals()?;
        tracing::info!(
            "Starting {name} with {} and {}",
            paths.kafka.display(),
            paths.sys.display()
        );
        if !from_environment.is_empty() {
            // Names only: the values are often secrets.
            tracing::info!(
                "Set by environment variables: {}",
                from_environment.join(", ")
            );
        }
        body(settings, shutdown).await
    });
    match outcome {
        Ok(()) => {
            tracing::info!("Graceful shutdown completed");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!("{name} stopped: {error:#}");
            ExitCode::FAILURE
        }
    }
}
