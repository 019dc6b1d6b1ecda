//! Thin handlers: read the request, ask the store or the producer, answer.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use axum_extra::extract::{Form, PrivateCookieJar};
use common::domain::events::{now_ms, OrderDetails, PizzaOrdered, StageEvent};
use common::domain::topics::Topic;
use common::runtime::logging::error_chain;
use serde::Deserialize;
use store::{OrderRecord, StoreError};

use crate::error::AppError;
use crate::order_access::{is_order_id, own_order, read_order_logs};
use crate::order_form::{self, OrderForm};
use crate::order_json::OrderJson;
use crate::pages::{
    render, render_as, LoginPage, MenuPage, OrderPage, OrderView, OrdersPage, Problem,
};
use crate::session::{
    no_store, read_session, username_from_form, Customer, COOKIE, MAX_USERNAME_CHARS,
};
use crate::state::AppState;
use crate::{
    assets, deadline, head_limits, placed_status, security, shop_floor, streams, web_metrics,
};

/// Forms here are a few hundred bytes; anything near this is not a pizza order.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
const ORDERS_SHOWN: usize = 100;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/", get(menu).post(place_order))
        .route("/orders", get(orders))
        .route("/orders/search", get(search))
        .route("/orders/{order_id}", get(order_page))
        .route("/orders/{order_id}/logs", get(order_logs))
        .route("/orders/{order_id}/logs/events", get(streams::log_events))
        .route("/api/orders/events", get(streams::customer_events))
        .route("/api/orders/{order_id}", get(order_json))
        .route("/api/orders/{order_id}/events", get(streams::order_events))
        .route("/shop-floor", get(shop_floor::page))
        .route("/shop-floor/events", get(shop_floor::events))
        .route("/health-check", get(|| async { "Ok" }))
        .route("/static/{file}", get(assets::asset))
        .fallback(|| async { AppError::NotFound })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            deadline::body_deadline,
        ))
        // Inside the session layer, so its refusal is the shop's page too.
        .layer(middleware::from_fn(security::same_origin_posts))
        .layer(middleware::from_fn(no_store))
        .layer(middleware::from_fn_with_state(state.clone(), read_session))
        // Outside the session layer: a head this large is refused before its cookie is read.
        .layer(middleware::from_fn(head_limits::refuse_oversized_heads))
        // Outermost, so every answer is counted, refusals included.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web_metrics::record,
        ));
    security::with_headers(routes).with_state(state)
}

async fn login_page() -> Result<Response, AppError> {
    render(LoginPage {
        username: None,
        searched: "",
        max_chars: MAX_USERNAME_CHARS,
    })
}

/// The login form, read by hand: a name that is not UTF-8 is refused, where a form extractor
/// would quietly turn its bytes into U+FFFD.
async fn login(
    jar: PrivateCookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let is_form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(AppError::UnsupportedMediaType);
    }
    let refused = |message: &str| AppError::BadField {
        field: "username",
        message: message.to_owned(),
    };
    let raw = order_form::single_field(&body, "username")
        .map_err(|problem| refused(problem.as_str()))?
        .unwrap_or_default();
    let raw = String::from_utf8(raw).map_err(|_| refused("not valid UTF-8 text"))?;
    let username = username_from_form(&raw).ok_or_else(|| {
        refused(&format!(
            "at most {MAX_USERNAME_CHARS} characters, and no control, format or line separator \
             characters"
        ))
    })?;
    let customer = Customer::new(username);
    tracing::info!(
        "Customer '{}' logged in as customer_id '{}'",
        common::runtime::logging::quote_safe(&customer.username),
        customer.customer_id
    );
    Ok((jar.add(customer.cookie()), Redirect::to("/")).into_response())
}

/// Ends the session on every web app sharing the store, so the cookie is worth nothing even
/// where the browser (or anyone who copied it) keeps it. A `POST`, behind the same-origin check,
/// so another site cannot log a customer out.
async fn logout(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    if let Some(customer) = request.extensions().get::<Customer>() {
        state
            .store
            .end_sessions(&customer.customer_id, now_ms())
            .await?;
        tracing::info!("customer_id '{}' logged out", customer.customer_id);
    }
    Ok((jar.remove(COOKIE), Redirect::to("/login")).into_response())
}

async fn menu(State(state): State<AppState>, customer: Customer) -> Result<Response, AppError> {
    render(MenuPage {
        username: Some(&customer.username),
        searched: "",
        menu: &state.sys.menu,
        chosen: &OrderForm::default(),
        problem: None,
    })
}

async fn place_order(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<OrderForm>,
) -> Result<Response, AppError> {
    state.order_rate.check(&customer.customer_id)?;
    let pizza = match form.clone().validate(&state.sys.menu) {
        Ok(pizza) => pizza,
        // The menu again, with what was chosen and what was wrong; the browser's own check of
        // the radio buttons (`required`, as in the original) keeps most people from seeing it.
        Err(AppError::BadField { field, message }) => {
            return render_as(
                StatusCode::BAD_REQUEST,
                MenuPage {
                    username: Some(&customer.username),
                    searched: "",
                    menu: &state.sys.menu,
                    chosen: &form,
                    problem: Some(Problem {
                        field,
                        label: order_form::label(field),
                        message,
                    }),
                },
            );
        }
        Err(other) => return Err(other),
    };
    let placed = PizzaOrdered {
        status: state.sys.status.ids.order_placed,
        timestamp: now_ms(),
        order: OrderDetails {
            customer_id: customer.customer_id.clone(),
            username: customer.username.clone(),
            pizza,
        },
    };
    let order_id = store_new_order(&state, &placed).await?;

    // The order exists only once the broker has it: if it does not acknowledge, the stored row
    // goes again and the customer is told, so no half-made order remains. Its status event is
    // sent alongside, not after; should the order fail, a lone "placed" status finds no row (or
    // one about to go) and changes nothing.
    let sent = state
        .outbound
        .stage(Topic::Ordered, &order_id, &placed)
        .await;
    if let Err(error) = sent.stage {
        if error.violation().is_some() {
            // The producer has said which rule it broke.
            state.store.delete_order(&order_id).await?;
            return Err(AppError::BreaksContract(
                "Your order could not be placed: the shop's record of it does not meet the \
                 contract for new orders. This is a fault of the shop, and it has been logged."
                    .into(),
            ));
        }
        tracing::error!(
            "Order '{order_id}' not placed, the broker did not take it: {}",
            error_chain(&error)
        );
        state.store.delete_order(&order_id).await?;
        return Err(AppError::Unavailable(
            "The kitchen could not be reached, so your order was not placed. Please try again."
                .into(),
        ));
    }
    tracing::info!(
        "Order '{order_id}' placed by customer_id '{}'",
        customer.customer_id
    );
    // The view already shows the order as placed and the kitchen has it: the customer need
    // not wait for its status event (which ksqlDB may be the one to copy).
    placed_status::see_to(&state, order_id.clone(), placed.status_at(), sent.status);
    Ok(Redirect::to(&format!("/orders/{order_id}")).into_response())
}

/// Stores the order under a fresh 8-hex-digit id (a new one in the rare case of a clash).
async fn store_new_order(state: &AppState, placed: &PizzaOrdered) -> Result<String, AppError> {
    const TRIES: u32 = 5;
    let mut tried = 0;
    loop {
        tried += 1;
        let order_id = format!("{:08x}", rand::random::<u32>());
        match state
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

fn view(state: &AppState, record: OrderRecord) -> OrderView {
    let label = state.sys.status.label(record.status.status).into_owned();
    OrderView::new(record, label)
}

async fn orders(State(state): State<AppState>, customer: Customer) -> Result<Response, AppError> {
    let records = state
        .store
        .customer_orders(&customer.customer_id, ORDERS_SHOWN)
        .await?;
    let orders = records.into_iter().map(|r| view(&state, r)).collect();
    render(OrdersPage {
        username: Some(&customer.username),
        searched: "",
        orders,
    })
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    order_id: String,
}

/// An order id goes to its page; anything else can be no order, and says so as the original's
/// order page does.
async fn search(
    State(state): State<AppState>,
    customer: Customer,
    Query(query): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let order_id = query.order_id.trim().to_ascii_lowercase();
    if is_order_id(&order_id) {
        return Ok(Redirect::to(&format!("/orders/{order_id}")).into_response());
    }
    show_order(&state, &customer, query.order_id.trim(), None)
}

async fn order_page(
    State(state): State<AppState>,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = match own_order(&state, &customer, &order_id).await {
        Ok(record) => Some(record),
        Err(AppError::NotFound) => None,
        Err(other) => return Err(other),
    };
    show_order(&state, &customer, &order_id, record)
}

/// The order page, or with no record "Order '<id>' not found" (404): whatever the reason there
/// is none, the page is the same.
fn show_order(
    state: &AppState,
    customer: &Customer,
    order_id: &str,
    record: Option<OrderRecord>,
) -> Result<Response, AppError> {
    let status = if record.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let completed = state
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
            order: record.map(|record| view(state, record)),
            completed,
            ksqldb: ksqldb_shown(state),
        },
    )
}

/// Whether the flow panel shows ksqlDB deriving the statuses: as the web app's own sender sees
/// it for `pizza-ordered` (the guide's queries copy every stage or none).
fn ksqldb_shown(state: &AppState) -> bool {
    state.outbound.left_to_ksqldb(Topic::Ordered)
}

async fn order_json(
    State(state): State<AppState>,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = own_order(&state, &customer, &order_id).await?;
    let label = state.sys.status.label(record.status.status);
    let json = OrderJson::new(&record, record.status.status, &label);
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
    state.log_rate.check(&customer.customer_id)?;
    let logs = read_order_logs(&state, record.order_id).await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(logs),
    )
        .into_response())
}
