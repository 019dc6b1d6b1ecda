//! The page templates (in `templates/`), one struct each. Askama escapes every value, so what a
//! customer typed is always shown as text.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use common::store::OrderRecord;

use crate::error::AppError;

pub fn render(page: impl Template) -> Result<Response, AppError> {
    page.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| AppError::Internal(format!("template: {e}")))
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
    pub fn extras(&self) -> String {
        if self.record.extra_toppings.is_empty() {
            "none".into()
        } else {
            self.record.extra_toppings.join(", ")
        }
    }
}

#[derive(Template)]
#[template(path = "order.html")]
pub struct OrderPage<'a> {
    pub username: Option<&'a str>,
    pub order: OrderView,
    /// Status codes after which the page stops asking for updates.
    pub completed: String,
}

#[derive(Template)]
#[template(path = "orders.html")]
pub struct OrdersPage<'a> {
    pub username: Option<&'a str>,
    pub orders: Vec<OrderView>,
}

/// Milliseconds since the epoch as a UTC time of day and date.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}
