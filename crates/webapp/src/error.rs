//! One error type for every handler, mapped to its status code and page in one place. The page
//! itself is rendered by [`crate::session::read_session`], which knows who is signed in, so an
//! error page keeps the customer's navigation.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::kafka::BoxError;
use common::runtime::logging::error_chain;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A form field the shop cannot accept; the page names it.
    #[error("{field}: {message}")]
    BadField {
        field: &'static str,
        message: String,
    },
    /// Unknown, or someone else's: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("cross-site form submission refused")]
    CrossSite,
    /// The broker did not take the order; nothing was kept.
    #[error("{0}")]
    Unavailable(String),
    /// The order breaks the contract of `pizza-ordered` (a bug, or a broker whose contract is
    /// stricter); nothing was kept, and trying again does not help.
    #[error("{0}")]
    BreaksContract(String),
    /// Past the cap on open streams.
    #[error("{0}")]
    TooManyStreams(&'static str),
    /// Past a customer's share of the shop (orders placed, log panels read).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// The request's body did not arrive within the deadline.
    #[error("the request's body took longer than {0:?}")]
    RequestTimeout(std::time::Duration),
    #[error("the request's body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the request's body is not a form")]
    UnsupportedMediaType,
    #[error("the request's body could not be read")]
    BodyUnreadable(#[source] axum::Error),
    #[error("the orders store failed")]
    Store(#[from] StoreError),
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// What an error page shows; attached to the response for the session layer to render.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub title: &'static str,
    pub message: String,
}

impl ErrorPage {
    /// The page for a refusal no handler of ours made (a form that cannot be read, a method
    /// not allowed): Werkzeug's title and text for the status, as the original's Flask answered.
    pub fn for_status(status: StatusCode) -> Self {
        let (title, message) = match status.as_u16() {
            400 => (
                "Bad Request",
                "The browser (or proxy) sent a request that this server could not understand.",
            ),
            403 => (
                "Forbidden",
                "You don't have the permission to access the requested resource. It is either \
                 read-protected or not readable by the server.",
            ),
            404 => (
                "Not Found",
                "The requested URL was not found on the server. If you entered the URL manually \
                 please check your spelling and try again.",
            ),
            405 => (
                "Method Not Allowed",
                "The method is not allowed for the requested URL.",
            ),
            408 => (
                "Request Timeout",
                "The server closed the network connection because the browser didn't finish \
                 the request within the specified time.",
            ),
            413 => (
                "Request Entity Too Large",
                "The data value transmitted exceeds the capacity limit.",
            ),
            414 => (
                "Request-URI Too Long",
                "The length of the requested URL exceeds the capacity limit for this server. \
                 The request cannot be processed.",
            ),
            415 => (
                "Unsupported Media Type",
                "The server does not support the media type transmitted in the request.",
            ),
            422 => (
                "Unprocessable Entity",
                "The request was well-formed but was unable to be followed due to semantic \
                 errors.",
            ),
            429 => (
                "Too Many Requests",
                "This user has exceeded an allotted request count. Try again later.",
            ),
            431 => (
                "Request Header Fields Too Large",
                "One or more header fields exceeds the maximum size.",
            ),
            503 => (
                "Service Unavailable",
                "The server is temporarily unable to service your request due to maintenance \
                 downtime or capacity problems. Please try again later.",
            ),
            _ if status.is_server_error() => (
                "Internal Server Error",
                "The server encountered an internal error and was unable to complete your \
                 request. Either the server is overloaded or there is an error in the \
                 application.",
            ),
            _ => (
                "Bad Request",
                "The browser (or proxy) sent a request that this server could not understand.",
            ),
        };
        Self {
            title,
            message: message.to_owned(),
        }
    }
}

fn page(status: StatusCode) -> (StatusCode, &'static str, String) {
    let page = ErrorPage::for_status(status);
    (status, page.title, page.message)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            // Where the original's Flask answered the same status, its words (Werkzeug's).
            Self::BadField { .. } => (StatusCode::BAD_REQUEST, "Bad Request", self.to_string()),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not Found",
                "The requested URL was not found on the server. If you entered the URL manually \
                 please check your spelling and try again."
                    .to_owned(),
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Forms must be sent from this site.".to_owned(),
            ),
            Self::Unavailable(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Kitchen unavailable",
                message.clone(),
            ),
            Self::BreaksContract(message) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Order not accepted",
                message.clone(),
            ),
            Self::TooManyStreams(message) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many pages open",
                (*message).to_owned(),
            ),
            Self::TooManyRequests { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                message.clone(),
            ),
            Self::RequestTimeout(_) => page(StatusCode::REQUEST_TIMEOUT),
            Self::TooLarge(_) => page(StatusCode::PAYLOAD_TOO_LARGE),
            Self::BodyUnreadable(_) => page(StatusCode::BAD_REQUEST),
            Self::UnsupportedMediaType => page(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            Self::Store(error) if error.is_unavailable() => {
                tracing::warn!("Request failed: {}", error_chain(&self));
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Orders unavailable",
                    "The shop cannot reach its orders just now. Please try again in a moment."
                        .to_owned(),
                )
            }
            Self::Store(_) | Self::Internal(_) => {
                tracing::error!("Request failed: {}", error_chain(&self));
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    "The server encountered an internal error and was unable to complete your \
                     request. Either the server is overloaded or there is an error in the \
                     application."
                        .to_owned(),
                )
            }
        };
        let mut response = (status, message.clone()).into_response();
        if let Self::TooManyRequests { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, (*retry_after).into());
        }
        if matches!(self, Self::RequestTimeout(_)) {
            // What is left of the body is not worth reading: the connection goes.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
            .extensions_mut()
            .insert(ErrorPage { title, message });
        response
    }
}
