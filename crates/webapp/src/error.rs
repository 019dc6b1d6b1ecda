//! One error type for every handler, mapped to its status code and page in one place. The page
//! itself is rendered by [`crate::session::read_session`], which knows who is signed in, so an
//! error page keeps the customer's navigation.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::kafka::BoxError;
use common::logging::error_chain;
use common::store::StoreError;

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
    /// Past the cap on open streams.
    #[error("{0}")]
    TooManyStreams(&'static str),
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
            Self::TooManyStreams(message) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many pages open",
                (*message).to_owned(),
            ),
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
        response
            .extensions_mut()
            .insert(ErrorPage { title, message });
        response
    }
}
