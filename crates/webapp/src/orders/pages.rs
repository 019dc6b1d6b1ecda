//! The pages of the orders: the menu (with a refused choice shown above it), one order, and My
//! Orders.

use askama::Template;
use store::OrderRecord;

use super::form::OrderForm;
use crate::pages::format_time;

/// A choice the menu refused, shown above the form.
#[derive(Debug)]
pub(super) struct Problem {
    pub(super) field: &'static str,
    pub(super) label: &'static str,
    pub(super) message: String,
}

#[derive(Debug, Template)]
#[template(path = "menu.html")]
pub(super) struct MenuPage<'a> {
    pub(super) username: Option<&'a str>,
    pub(super) searched: &'a str,
    pub(super) menu: &'a common::settings::Menu,
    /// What the customer had chosen, when the form comes back refused; nothing at first.
    pub(super) chosen: &'a OrderForm,
    pub(super) problem: Option<Problem>,
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
pub(super) struct OrderView {
    pub(super) record: OrderRecord,
    pub(super) status_text: String,
    pub(super) placed_at: String,
}

impl OrderView {
    pub(super) fn new(record: OrderRecord, status_text: String) -> Self {
        Self {
            placed_at: format_time(record.timestamp),
            status_text,
            record,
        }
    }

    /// Empty when there are none, as the original shows it.
    pub(super) fn extras(&self) -> String {
        self.record.details.pizza.extra_toppings.join(", ")
    }
}

/// The order page, or (with no order) the original's "Order 'x' not found" in its place: an
/// unknown id and someone else's order get the same page.
#[derive(Debug, Template)]
#[template(path = "order.html")]
pub(super) struct OrderPage<'a> {
    pub(super) username: Option<&'a str>,
    pub(super) searched: &'a str,
    pub(super) order: Option<OrderView>,
    /// Status codes after which the page stops following the order.
    pub(super) completed: String,
    /// Whether the flow panel shows ksqlDB between the stages and the status service.
    pub(super) ksqldb: bool,
}

#[derive(Debug, Template)]
#[template(path = "orders.html")]
pub(super) struct OrdersPage<'a> {
    pub(super) username: Option<&'a str>,
    pub(super) searched: &'a str,
    pub(super) orders: Vec<OrderView>,
}
