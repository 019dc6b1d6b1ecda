//! The page templates (in `templates/`), one struct each. Askama escapes every value, so what a
//! customer typed is always shown as text.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use common::store::OrderRecord;

use crate::error::{AppError, ErrorPage};

pub fn render(page: impl Template) -> Result<Response, AppError> {
    page.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| AppError::Internal(Box::new(e)))
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub username: Option<&'a str>,
    pub max_chars: usize,
}

#[derive(Template)]
#[template(path = "menu.html")]
pub struct MenuPage<'a> {
    pub username: Option<&'a str>,
    pub menu: &'a common::settings::Menu,
}

/// An order as the pages show it.
pub struct OrderView {
    pub record: OrderRecord,
    pub status_text: String,
    pub placed_at: String,
}

impl OrderView {
    pub fn new(record: OrderRecord, status_text: String) -> Self {
        Self {
            placed_at: format_time(record.timestamp),
            status_text,
            record,
        }
    }

    pub fn extras(&self) -> String {
        let extras = &self.record.details.pizza.extra_toppings;
        if extras.is_empty() {
            "none".into()
        } else {
            extras.join(", ")
        }
    }
}

#[derive(Template)]
#[template(path = "order.html")]
pub struct OrderPage<'a> {
    pub username: Option<&'a str>,
    pub order: OrderView,
    /// Status codes after which the page stops following the order.
    pub completed: String,
}

#[derive(Template)]
#[template(path = "orders.html")]
pub struct OrdersPage<'a> {
    pub username: Option<&'a str>,
    pub orders: Vec<OrderView>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    username: Option<&'a str>,
    code: u16,
    title: &'a str,
    message: &'a str,
}

/// The page for an error answer, with the navigation of whoever is signed in.
pub fn error_page(status: StatusCode, page: &ErrorPage, username: Option<&str>) -> Response {
    let template = ErrorTemplate {
        username,
        code: status.as_u16(),
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
