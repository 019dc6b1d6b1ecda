//! What the cases store: an order as the web app places it, a status at its event time, and
//! delivery's early warning.

use common::domain::events::{OrderDetails, Pizza, PizzaOrdered};
use common::domain::status::StatusAt;
use store::DeliveryState;

pub(crate) fn placed(customer: &str, timestamp: i64) -> PizzaOrdered {
    PizzaOrdered {
        status: 100,
        timestamp,
        order: OrderDetails {
            customer_id: customer.into(),
            username: "Ann".into(),
            pizza: Pizza {
                sauce: "Tomato".into(),
                cheese: "Mozzarella".into(),
                main_topping: "Pork".into(),
                extra_toppings: vec!["Egg".into(), "Onion".into()],
            },
        },
    }
}

pub(crate) fn at(status: i64, timestamp: i64) -> StatusAt {
    StatusAt { status, timestamp }
}

/// Delivery's state once the early warning (`pizza-ordered`) arrived.
pub(crate) fn early(customer: &str) -> DeliveryState {
    DeliveryState {
        customer_id: Some(customer.into()),
        ..DeliveryState::default()
    }
}
