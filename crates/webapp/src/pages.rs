//! The page templates (in `templates/`), one struct each. Askama escapes every value, so what a
//! customer typed is always shown as text.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use store::OrderRecord;

use crate::error::{AppError, ErrorPage};
use crate::order_form::OrderForm;

pub fn render(page: impl Template) -> Result<Response, AppError> {
    render_as(StatusCode::OK, page)
}

/// A page that answers with `status`: a refused form shown again, an order not found.
pub fn render_as(status: StatusCode, page: impl Template) -> Result<Response, AppError> {
    page.render()
        .map(|html| (status, Html(html)).into_response())
        .map_err(|e| AppError::Internal(Box::new(e)))
}

// Every page has `username` (the navigation is shown only to a signed-in customer) and
// `searched`, what the navigation's search box holds: the order on an order page, as in the
// original.

#[derive(Debug, Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub username: Option<&'a str>,
    pub searched: &'a str,
    pub max_chars: usize,
}

/// A choice the menu refused, shown above the form.
#[derive(Debug)]
pub struct Problem {
    pub field: &'static str,
    pub label: &'static str,
    pub message: String,
}

#[derive(Debug, Template)]
#[template(path = "menu.html")]
pub struct MenuPage<'a> {
    pub username: Option<&'a str>,
    pub searched: &'a str,
    pub menu: &'a common::settings::Menu,
    /// What the customer had chosen, when the form comes back refused; nothing at first.
    pub chosen: &'a OrderForm,
    pub problem: Option<Problem>,
}

impl MenuPage<'_> {
    fn chose(&self, field: &str, item: &str) -> bool {
        let chosen = &self.chosen;
        match field {
            "sauce" => chosen.sauce.as_deref() == Some(item),
            "cheese" => chosen.cheese.as_deref() == Some(item),
            "main_topping" => chosen.main_topping.as_deref() == Some(item),
            "extra_topping" => chosen.extra_topping.iter().any(|e| e == item),
            _ => false,
        }
    }

    fn refused(&self, field: &str) -> bool {
        self.problem.as_ref().is_some_and(|p| p.field == field)
    }
}

/// An order as the pages show it.
#[derive(Debug)]
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

    /// Empty when there are none, as the original shows it.
    pub fn extras(&self) -> String {
        self.record.details.pizza.extra_toppings.join(", ")
    }
}

/// The order page, or (with no order) the original's "Order 'x' not found" in its place: an
/// unknown id and someone else's order get the same page.
#[derive(Debug, Template)]
#[template(path = "order.html")]
pub struct OrderPage<'a> {
    pub username: Option<&'a str>,
    pub searched: &'a str,
    pub order: Option<OrderView>,
    /// Status codes after which the page stops following the order.
    pub completed: String,
    /// Whether the flow panel shows ksqlDB between the stages and the status service.
    pub ksqldb: bool,
}

#[derive(Debug, Template)]
#[template(path = "orders.html")]
pub struct OrdersPage<'a> {
    pub username: Option<&'a str>,
    pub searched: &'a str,
    pub orders: Vec<OrderView>,
}

/// The shop floor: its picture is drawn by its script from the pushed figures; the page itself
/// carries the wiring, for a browser without scripts.
#[derive(Debug, Template)]
#[template(path = "shop_floor.html")]
pub struct ShopFloorPage<'a> {
    pub username: Option<&'a str>,
    pub searched: &'a str,
    pub floor: crate::shop_floor::Floor,
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
