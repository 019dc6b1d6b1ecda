//! Rendering pages from the templates in `templates/` (each concern keeps its own page structs
//! beside its handlers), and the error page every refusal shows. Askama escapes every value, so
//! what a customer typed is always shown as text.
//!
//! Every page has `username` (the navigation is shown only to a signed-in customer) and
//! `searched`, what the navigation's search box holds: the order on an order page, as in the
//! original.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::{AppError, ErrorPage};

pub fn render(page: impl Template) -> Result<Response, AppError> {
    render_as(StatusCode::OK, page)
}

/// A page that answers with `status`: a refused form shown again, an order not found.
pub fn render_as(status: StatusCode, page: impl Template) -> Result<Response, AppError> {
    page.render()
        .map(|html| (status, Html(html)).into_response())
        .map_err(|e| AppError::Internal(Box::new(e)))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    username: Option<&'a str>,
    searched: &'a str,
    title: &'a str,
    message: &'a str,
}

/// The page for an error answer, with the navigation of whoever is signed in.
pub fn error_page(status: StatusCode, page: &ErrorPage, username: Option<&str>) -> Response {
    let template = ErrorTemplate {
        username,
        searched: "",
        title: page.title,
        message: &page.message,
    };
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, page.message.clone()).into_response(),
    }
}

/// Milliseconds since the epoch in local time, as the original shows an order's time.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%b-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}
