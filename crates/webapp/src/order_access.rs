//! What the pages and the streams share about one order: only its owner may see it, and its log
//! entries are read off the async workers, within a deadline.

use std::time::Duration;

use store::OrderRecord;

use crate::error::AppError;
use crate::order_logs::OrderLogs;
use crate::session::Customer;
use crate::state::AppState;

/// The customer's own order, or 404 (for an unknown id and for anyone else's alike).
pub(crate) async fn own_order(
    state: &AppState,
    customer: &Customer,
    order_id: &str,
) -> Result<OrderRecord, AppError> {
    if !is_order_id(order_id) {
        return Err(AppError::NotFound);
    }
    state
        .store
        .get_order(order_id)
        .await?
        .filter(|order| order.details.customer_id == customer.customer_id)
        .ok_or(AppError::NotFound)
}

pub(crate) fn is_order_id(text: &str) -> bool {
    text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How long reading the log files for one panel may take before the request gives up.
const LOG_READ_PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error("reading the log files took longer than {0:?}")]
struct SlowLogs(Duration);

/// An order's entries in the services' log files on this host.
pub(crate) async fn read_order_logs(
    state: &AppState,
    order_id: String,
) -> Result<OrderLogs, AppError> {
    let index = state.log_index.clone();
    let reading = tokio::task::spawn_blocking(move || index.read(&order_id));
    tokio::time::timeout(LOG_READ_PATIENCE, reading)
        .await
        .map_err(|_| AppError::Internal(Box::new(SlowLogs(LOG_READ_PATIENCE))))?
        .map_err(|e| AppError::Internal(Box::new(e)))
}
