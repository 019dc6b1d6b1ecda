//! The `pizza-status` event that says an order is placed. The customer is answered as soon as
//! the broker has the order itself; its status event goes alongside and, should the broker go
//! before acknowledging it, again once it is back: `pizza-status` is the log the Query side
//! folds, so an order is not left out of it for a broker restart.

use std::sync::Arc;

use common::domain::status::StatusAt;
use common::kafka::{EventSink, ProduceError};
use common::runtime::backoff::Backoff;
use common::runtime::logging::error_chain;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

/// Waits for `first` (the status sent with the order) in the background and sends it again
/// until it lands, is refused for breaking its contract, or the web app stops. A copy that
/// landed unseen is harmless: the view folds statuses by their time.
pub(crate) fn see_to(
    events: &Arc<dyn EventSink>,
    shutdown: &CancellationToken,
    order_id: String,
    at: StatusAt,
    first: BoxFuture<'static, Result<(), ProduceError>>,
) {
    let (events, shutdown) = (events.clone(), shutdown.clone());
    tokio::spawn(async move {
        let mut sent = first.await;
        let mut backoff = Backoff::default();
        while let Err(error) = sent {
            if error.violation().is_some() {
                // Refused for what it holds, which sending again does not change (the producer
                // has logged the rule it broke).
                return;
            }
            tracing::warn!(
                "Order '{order_id}': status event not produced ({}); trying again in {:?}",
                error_chain(&error),
                backoff.pause()
            );
            if !backoff.wait(&shutdown).await {
                return;
            }
            sent = events.status(&order_id, at).await;
        }
    });
}
