//! The shop's limits on a request's head, answered with the shop's own error pages. hyper would
//! otherwise refuse an oversized head itself, in plain text, before the router runs: its read
//! buffer and header count are raised above these limits in [`super::serve`] so that the refusal
//! is made here instead. Its cap on the request target is fixed (65 534 bytes), so the shop's
//! cap sits below it; a head past hyper's own limits still gets hyper's plain answer, or a closed
//! connection.

use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ErrorPage;

/// Longest request target answered: just under hyper's own fixed cap, which would otherwise
/// answer first and in plain text.
pub const MAX_URI_BYTES: usize = 64 * 1024 - 1024;
/// Largest head answered: the size of hyper's default read buffer, at which it refused heads
/// before the shop did.
pub const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;
/// Most header fields answered: hyper's default, at which it refused heads before the shop did.
pub const MAX_HEADER_FIELDS: usize = 100;
/// hyper's read buffer, above [`MAX_HEAD_BYTES`] so that an oversized head reaches the shop.
pub const HYPER_BUFFER_BYTES: usize = 1024 * 1024;
/// hyper's header count, above [`MAX_HEADER_FIELDS`] for the same reason.
pub const HYPER_HEADER_FIELDS: usize = 1000;

pub async fn refuse_oversized_heads(request: Request, next: Next) -> Response {
    let status = if uri_bytes(request.uri()) > MAX_URI_BYTES {
        StatusCode::URI_TOO_LONG
    } else if request.headers().len() > MAX_HEADER_FIELDS || head_bytes(&request) > MAX_HEAD_BYTES {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    } else {
        return next.run(request).await;
    };
    // No session is read from a head this size: the page is the anonymous one.
    let mut response = crate::pages::error_page(status, &ErrorPage::for_status(status), None);
    // A client that sends such heads is not worth keeping a connection for.
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response.into_response()
}

fn uri_bytes(uri: &Uri) -> usize {
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + "://".len());
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let rest = uri.path_and_query().map_or(0, |p| p.as_str().len());
    scheme + authority + rest
}

/// The head as it came over the wire, near enough: request line, fields and blank line.
fn head_bytes(request: &Request) -> usize {
    let line =
        request.method().as_str().len() + 1 + uri_bytes(request.uri()) + " HTTP/1.1\r\n".len();
    let fields: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + ": ".len() + value.len() + "\r\n".len())
        .sum();
    line + fields + "\r\n".len()
}
