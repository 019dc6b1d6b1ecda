//! The flow panel's first look at an order: its entries in the services' log files on this host,
//! read off the async workers, within a deadline.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::log_index::LogIndex;
use super::order_logs::OrderLogs;
use super::LiveState;
use crate::error::AppError;
use crate::orders::access::own_order;
use crate::session::Customer;

/// How long reading the log files for one panel may take before the request gives up.
const LOG_READ_PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error("reading the log files took longer than {0:?}")]
struct SlowLogs(Duration);

/// An order's entries in the services' log files on this host.
pub(super) async fn read_order_logs(
    index: &Arc<LogIndex>,
    order_id: String,
) -> Result<OrderLogs, AppError> {
    let index = index.clone();
    let reading = tokio::task::spawn_blocking(move || index.read(&order_id));
    tokio::time::timeout(LOG_READ_PATIENCE, reading)
        .await
        .map_err(|_| AppError::Internal(Box::new(SlowLogs(LOG_READ_PATIENCE))))?
        .map_err(|e| AppError::Internal(Box::new(e)))
}

/// `GET /orders/<id>/logs`: the panel's entries as JSON, for a page that cannot stream.
pub async fn order_logs(
    State(live): State<Arc<LiveState>>,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = own_order(live.orders.as_ref(), &customer, &order_id).await?;
    live.log_rate.check(&customer.customer_id)?;
    let logs = read_order_logs(&live.log_index, record.order_id).await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(logs),
    )
        .into_response())
}
