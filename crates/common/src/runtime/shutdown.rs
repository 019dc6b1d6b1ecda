//! SIGINT/SIGTERM become a cancellation every part of a service listens to.

use futures::StreamExt;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_tokio::Signals;
use tokio_util::sync::CancellationToken;

/// Cancels the returned token on the first SIGINT or SIGTERM; a second signal exits at once,
/// for an operator who does not want to wait.
pub fn on_signals() -> std::io::Result<CancellationToken> {
    let token = CancellationToken::new();
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let cancel = token.clone();
    tokio::spawn(async move {
        if let Some(signal) = signals.next().await {
            tracing::info!("Received signal {signal}, stopping");
            cancel.cancel();
        }
        if signals.next().await.is_some() {
            tracing::warn!("Second signal: exiting without finishing the graceful shutdown");
            std::process::exit(130);
        }
    });
    Ok(token)
}
