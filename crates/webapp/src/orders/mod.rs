//! Orders, the Command side: the menu and its form ([`form`]), placing an order (stored, then
//! sent as `pizza-ordered`, its "placed" status seen to in the background: [`placed_status`]),
//! and the pages and JSON that show a customer their own orders ([`access`], [`json`],
//! [`pages`]).

pub mod access;
pub mod form;
pub mod json;
mod pages;
mod placed_status;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::Form;
use common::domain::events::{now_ms, python_json, OrderDetails, PizzaOrdered, StageEvent};
use common::domain::topics::Topic;
use common::kafka::{EventSink, ProduceError};
use common::runtime::logging::error_chain;
use common::settings::SysSettings;
use serde::Deserialize;
use store::{OrderRecord, Orders, StoreError};
use tokio_util::sync::CancellationToken;

use self::access::{is_order_id, own_order};
use self::form::OrderForm;
use self::json::OrderJson;
use self::pages::{MenuPage, OrderPage, OrderView, OrdersPage, Problem};
use crate::error::AppError;
use crate::http::rate_limit::RateLimit;
use crate::pages::{render, render_as};
use crate::session::Customer;

/// The orders My Orders shows.
pub const ORDERS_SHOWN: usize = 100;

/// What the order handlers need.
pub struct OrdersState {
    pub sys: Arc<SysSettings>,
    pub store: Arc<dyn Orders>,
    /// Where orders go: Kafka's `Outbound` in the running web app, a recorder in its tests.
    pub events: Arc<dyn EventSink>,
    /// `[webapp] orders_per_minute`.
    pub order_rate: RateLimit,
    /// Stops the background sends of "placed" statuses.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for OrdersState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdersState")
            .field("order_rate", &self.order_rate)
            .finish_non_exhaustive()
    }
}

impl OrdersState {
    fn view(&self, record: OrderRecord) -> OrderView {
        let label = self.sys.status.label(record.status.status).into_owned();
        OrderView::new(record, label)
    }
}

type Desk = State<Arc<OrdersState>>;

pub async fn menu(State(orders): Desk, customer: Customer) -> Result<Response, AppError> {
    render(MenuPage {
        username: Some(&customer.username),
        searched: "",
        menu: &orders.sys.menu,
        chosen: &OrderForm::default(),
        problem: None,
    })
}

pub async fn place_order(
    State(orders): Desk,
    customer: Customer,
    Form(form): Form<OrderForm>,
) -> Result<Response, AppError> {
    orders.order_rate.check(&customer.customer_id)?;
    let pizza = match form.clone().validate(&orders.sys.menu) {
        Ok(pizza) => pizza,
        // The menu again, with what was chosen and what was wrong; the browser's own check of
        // the radio buttons (`required`, as in the original) keeps most people from seeing it.
        Err(AppError::BadField { field, message }) => {
            return render_as(
                StatusCode::BAD_REQUEST,
                MenuPage {
                    username: Some(&customer.username),
                    searched: "",
                    menu: &orders.sys.menu,
                    chosen: &form,
                    problem: Some(Problem {
                        field,
                        label: form::label(field),
                        message,
                    }),
                },
            );
        }
        Err(other) => return Err(other),
    };
    let placed = PizzaOrdered {
        status: orders.sys.status.ids.order_placed,
        timestamp: now_ms(),
        order: OrderDetails {
            customer_id: customer.customer_id.clone(),
            username: customer.username.clone(),
            pizza,
        },
    };
    let payload = python_json::to_vec(&placed).map_err(|e| AppError::Internal(Box::new(e)))?;
    let order_id = store_new_order(&orders, &placed).await?;

    // The order exists only once the broker has it: if it does not acknowledge, the stored row
    // goes again and the customer is told, so no half-made order remains. Its status event is
    // sent alongside, not after; should the order fail, a lone "placed" status finds no row (or
    // one about to go) and changes nothing.
    let sent = orders
        .events
        .stage(Topic::Ordered, &order_id, payload, placed.status_at())
        .await;
    if let Err(error) = sent.stage {
        orders.store.delete_order(&order_id).await?;
        return Err(not_placed(&order_id, &error));
    }
    tracing::info!(
        "Order '{order_id}' placed by customer_id '{}'",
        customer.customer_id
    );
    // The view already shows the order as placed and the kitchen has it: the customer need
    // not wait for its status event (which ksqlDB may be the one to copy).
    placed_status::see_to(
        &orders.events,
        &orders.shutdown,
        order_id.clone(),
        placed.status_at(),
        sent.status,
    );
    Ok(Redirect::to(&format!("/orders/{order_id}")).into_response())
}

/// What the customer is told when the broker did not take their order.
fn not_placed(order_id: &str, error: &ProduceError) -> AppError {
    if error.violation().is_some() {
        // The producer has said which rule it broke.
        return AppError::BreaksContract(
            "Your order could not be placed: the shop's record of it does not meet the contract \
             for new orders. This is a fault of the shop, and it has been logged."
                .into(),
        );
    }
    tracing::error!(
        "Order '{order_id}' not placed, the broker did not take it: {}",
        error_chain(error)
    );
    AppError::Unavailable(
        "The kitchen could not be reached, so your order was not placed. Please try again.".into(),
    )
}

/// Stores the order under a fresh 8-hex-digit id (a new one in the rare case of a clash).
async fn store_new_order(orders: &OrdersState, placed: &PizzaOrdered) -> Result<String, AppError> {
    const TRIES: u32 = 5;
    let mut tried = 0;
    loop {
        tried += 1;
        let order_id = format!("{:08x}", rand::random::<u32>());
        match orders
            .store
            .add_order(&order_id, placed, placed.timestamp)
            .await
        {
            Ok(()) => return Ok(order_id),
            Err(StoreError::DuplicateOrder(_)) if tried < TRIES => continue,
            Err(error) => return Err(error.into()),
        }
    }
}

pub async fn list(State(orders): Desk, customer: Customer) -> Result<Response, AppError> {
    let records = orders
        .store
        .customer_orders(&customer.customer_id, ORDERS_SHOWN)
        .await?;
    render(OrdersPage {
        username: Some(&customer.username),
        searched: "",
        orders: records.into_iter().map(|r| orders.view(r)).collect(),
    })
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    order_id: String,
}

/// An order id goes to its page; anything else can be no order, and says so as the original's
/// order page does.
pub async fn search(
    State(orders): Desk,
    customer: Customer,
    Query(query): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let order_id = query.order_id.trim().to_ascii_lowercase();
    if is_order_id(&order_id) {
        return Ok(Redirect::to(&format!("/orders/{order_id}")).into_response());
    }
    show_order(&orders, &customer, query.order_id.trim(), None)
}

pub async fn page(
    State(orders): Desk,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = match own_order(orders.store.as_ref(), &customer, &order_id).await {
        Ok(record) => Some(record),
        Err(AppError::NotFound) => None,
        Err(other) => return Err(other),
    };
    show_order(&orders, &customer, &order_id, record)
}

/// The order page, or with no record "Order '<id>' not found" (404): whatever the reason there
/// is none, the page is the same.
fn show_order(
    orders: &OrdersState,
    customer: &Customer,
    order_id: &str,
    record: Option<OrderRecord>,
) -> Result<Response, AppError> {
    let status = if record.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let completed = orders
        .sys
        .orders_store
        .rules
        .completed
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    render_as(
        status,
        OrderPage {
            username: Some(&customer.username),
            searched: order_id,
            order: record.map(|record| orders.view(record)),
            completed,
            // As the web app's own sender sees it for `pizza-ordered`: the guide's queries copy
            // every stage or none.
            ksqldb: orders.events.left_to_ksqldb(Topic::Ordered),
        },
    )
}

pub async fn json(
    State(orders): Desk,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = own_order(orders.store.as_ref(), &customer, &order_id).await?;
    let label = orders.sys.status.label(record.status.status);
    let json = OrderJson::new(&record, record.status.status, &label);
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(json),
    )
        .into_response())
}
