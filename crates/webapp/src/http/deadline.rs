//! The deadline for a request's body. hyper closes a connection whose request head is late
//! ([`super::serve`]); a body is read here, whole and within the deadline, before any handler
//! sees it, so a client that starts a body and stalls holds its connection no longer than one
//! that stalls in its head. Bodies are a few hundred bytes (a login, an order), so reading them
//! first costs nothing.

use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::LengthLimitError;

use crate::error::AppError;

/// Forms here are a few hundred bytes; anything near this is not a pizza order.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The middleware; its state is the deadline (`[webapp] request_deadline_seconds`).
pub async fn body_deadline(
    State(deadline): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match read_within(request, deadline).await {
        Ok(request) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn read_within(request: Request, deadline: Duration) -> Result<Request, AppError> {
    if request.body().is_end_stream() {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let bytes = tokio::time::timeout(deadline, axum::body::to_bytes(body, MAX_BODY_BYTES))
        .await
        .map_err(|_| AppError::RequestTimeout(deadline))?
        .map_err(|error| {
            let cause = error.into_inner();
            if cause.is::<LengthLimitError>() {
                AppError::TooLarge(MAX_BODY_BYTES)
            } else {
                AppError::BodyUnreadable(axum::Error::new(cause))
            }
        })?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
