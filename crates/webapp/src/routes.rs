//! Thin handlers: read the request, ask the store or the producer, answer.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use axum_extra::extract::{Form, PrivateCookieJar};
use common::events::{now_ms, OrderDetails, PizzaOrdered, StageReached};
use common::settings::StatusSource;
use common::store::{blocking, NewOrder, OrderRecord, StoreError};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::order_form::OrderForm;
use crate::pages::{format_time, render, LoginPage, MenuPage, OrderPage, OrderView, OrdersPage};
use crate::session::{read_session, username_from_form, Customer, COOKIE, MAX_USERNAME_CHARS};
use crate::state::AppState;
use crate::{assets, order_logs, security};

/// Forms here are a few hundred bytes; anything near this is not a pizza order.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
const ORDERS_SHOWN: usize = 100;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", get(logout))
        .route("/", get(menu).post(place_order))
        .route("/orders", get(orders))
        .route("/orders/search", get(search))
        .route("/orders/{order_id}", get(order_page))
        .route("/orders/{order_id}/logs", get(order_logs))
        .route("/api/orders/{order_id}", get(order_json))
        .route("/health-check", get(|| async { "Ok" }))
        .route("/static/{file}", get(assets::asset))
        .fallback(|| async { AppError::NotFound })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), read_session))
        .layer(middleware::from_fn(security::same_origin_posts));
    security::with_headers(routes).with_state(state)
}

async fn login_page() -> Result<Response, AppError> {
    render(LoginPage {
        username: None,
        max_chars: MAX_USERNAME_CHARS,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
}

async fn login(jar: PrivateCookieJar, Form(form): Form<LoginForm>) -> Result<Response, AppError> {
    let username = username_from_form(&form.username).ok_or_else(|| AppError::BadField {
        field: "username",
        message: format!("at most {MAX_USERNAME_CHARS} characters, and no control characters"),
    })?;
    let customer = Customer::new(username);
    tracing::info!(
        "Customer '{}' logged in as customer_id '{}'",
        common::logging::quote_safe(&customer.username),
        customer.customer_id
    );
    Ok((jar.add(customer.cookie()), Redirect::to("/")).into_response())
}

async fn logout(jar: PrivateCookieJar) -> Response {
    (jar.remove(COOKIE), Redirect::to("/login")).into_response()
}

async fn menu(State(state): State<AppState>, customer: Customer) -> Result<Response, AppError> {
    render(MenuPage {
        username: Some(&customer.username),
        menu: &state.sys.menu,
    })
}

async fn place_order(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<OrderForm>,
) -> Result<Response, AppError> {
    let pizza = form.validate(&state.sys.menu)?;
    let placed = state.sys.status.ids.order_placed;
    let timestamp = now_ms();
    let details = OrderDetails {
        extra_toppings: pizza.extra_toppings,
        customer_id: customer.customer_id.clone(),
        username: customer.username.clone(),
        sauce: pizza.sauce,
        cheese: pizza.cheese,
        main_topping: pizza.main_topping,
    };
    let order_id = store_new_order(&state, &details, timestamp, placed).await?;

    // The order exists only once the broker has it: if it does not acknowledge, the stored row
    // goes again and the customer is told, so no half-made order remains. Its status event is
    // sent alongside, not after, to spare the customer a second round trip; should the order
    // fail, a lone "placed" status finds no row (or one about to go) and changes nothing.
    let event = PizzaOrdered {
        status: placed,
        timestamp,
        order: details,
    };
    let announce = state
        .producer
        .send_json(&state.sys.topics.ordered, &order_id, &event);
    let status = async {
        if state.sys.status_source != StatusSource::Services {
            return Ok(());
        }
        let status = StageReached {
            status: placed,
            timestamp,
        };
        state
            .producer
            .send_json(&state.sys.topics.status, &order_id, &status)
            .await
            .map(|_| ())
    };
    let (announced, status) = tokio::join!(announce, status);
    if let Err(error) = announced {
        tracing::error!("Order '{order_id}' not placed, the broker did not take it: {error}");
        let (store, id) = (state.store.clone(), order_id.clone());
        blocking(move || store.delete_order(&id)).await?;
        return Err(AppError::Unavailable(
            "The kitchen could not be reached, so your order was not placed. Please try again."
                .into(),
        ));
    }
    tracing::info!(
        "Order '{order_id}' placed by customer_id '{}'",
        customer.customer_id
    );
    if let Err(error) = status {
        // The view already shows the order as placed, and the kitchen has it.
        tracing::warn!("Order '{order_id}': status event not produced: {error}");
    }
    Ok(Redirect::to(&format!("/orders/{order_id}")).into_response())
}

/// Stores the order under a fresh 8-hex-digit id (a new one in the rare case of a clash).
async fn store_new_order(
    state: &AppState,
    details: &OrderDetails,
    timestamp: i64,
    status: i64,
) -> Result<String, AppError> {
    for _ in 0..5 {
        let order = NewOrder::placed(
            &format!("{:08x}", rand::random::<u32>()),
            details,
            timestamp,
            status,
        );
        let store = state.store.clone();
        let id = order.order_id.clone();
        match blocking(move || store.add_order(&order, timestamp)).await {
            Ok(()) => return Ok(id),
            Err(StoreError::DuplicateOrder(_)) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::Internal("no free order id after 5 tries".into()))
}

/// The customer's own order, or 404 (for an unknown id and for anyone else's alike).
async fn own_order(
    state: &AppState,
    customer: &Customer,
    order_id: &str,
) -> Result<OrderRecord, AppError> {
    if !is_order_id(order_id) {
        return Err(AppError::NotFound);
    }
    let (store, id) = (state.store.clone(), order_id.to_owned());
    blocking(move || store.get_order(&id))
        .await?
        .filter(|order| order.customer_id == customer.customer_id)
        .ok_or(AppError::NotFound)
}

fn is_order_id(text: &str) -> bool {
    text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn view(state: &AppState, record: OrderRecord) -> OrderView {
    OrderView {
        status_text: state.sys.status.label(record.status).to_owned(),
        placed_at: format_time(record.timestamp),
        record,
    }
}

async fn orders(State(state): State<AppState>, customer: Customer) -> Result<Response, AppError> {
    let (store, id) = (state.store.clone(), customer.customer_id.clone());
    let records = blocking(move || store.customer_orders(&id, ORDERS_SHOWN)).await?;
    let orders = records.into_iter().map(|r| view(&state, r)).collect();
    render(OrdersPage {
        username: Some(&customer.username),
        orders,
    })
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    order_id: String,
}

async fn search(
    _customer: Customer,
    Query(query): Query<SearchQuery>,
) -> Result<Redirect, AppError> {
    let order_id = query.order_id.trim().to_ascii_lowercase();
    if !is_order_id(&order_id) {
        return Err(AppError::BadField {
            field: "order_id",
            message: "an order id has 8 hexadecimal characters".into(),
        });
    }
    Ok(Redirect::to(&format!("/orders/{order_id}")))
}

async fn order_page(
    State(state): State<AppState>,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = own_order(&state, &customer, &order_id).await?;
    let completed = state
        .sys
        .orders_store
        .status_completed_when
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    render(OrderPage {
        username: Some(&customer.username),
        order: view(&state, record),
        completed,
    })
}

#[derive(Serialize)]
struct OrderJson {
    order_id: String,
    status: i64,
    status_str: String,
    timestamp: i64,
    sauce: String,
    cheese: String,
    main_topping: String,
    extra_toppings: Vec<String>,
}

async fn order_json(
    State(state): State<AppState>,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = own_order(&state, &customer, &order_id).await?;
    let json = OrderJson {
        status_str: state.sys.status.label(record.status).to_owned(),
        order_id: record.order_id,
        status: record.status,
        timestamp: record.timestamp,
        sauce: record.sauce,
        cheese: record.cheese,
        main_topping: record.main_topping,
        extra_toppings: record.extra_toppings,
    };
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(json),
    )
        .into_response())
}

async fn order_logs(
    State(state): State<AppState>,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = own_order(&state, &customer, &order_id).await?;
    let dir = state.logs_dir.clone();
    let logs = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::task::spawn_blocking(move || order_logs::read(&dir, &record.order_id)),
    )
    .await
    .map_err(|_| AppError::Internal("reading logs took too long".into()))?
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        StatusCode::OK,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(logs),
    )
        .into_response())
}
