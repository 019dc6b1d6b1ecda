//! One error type for every handler, mapped to its status code and page in one place.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

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
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<common::store::StoreError> for AppError {
    fn from(error: common::store::StoreError) -> Self {
        Self::Internal(error.to_string())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    username: Option<&'a str>,
    code: u16,
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            Self::BadField { .. } => (
                StatusCode::BAD_REQUEST,
                "That order cannot be made",
                self.to_string(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such page or order.".to_owned(),
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "Refused",
                "Forms must be sent from this site.".to_owned(),
            ),
            Self::Unavailable(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Kitchen unavailable",
                message.clone(),
            ),
            Self::Internal(detail) => {
                tracing::error!("Request failed: {detail}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Please try again.".to_owned(),
                )
            }
        };
        let page = ErrorPage {
            username: None,
            code: status.as_u16(),
            title,
            message: &message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}
