//! Every path the web app answers, and the layers every answer passes through, in one place.

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{middleware, Router};

use crate::error::AppError;
use crate::http::deadline::{body_deadline, MAX_BODY_BYTES};
use crate::http::{assets, head_limits, metrics, security};
use crate::live::{log_panel, streams};
use crate::session::{handlers as session, read_session};
use crate::state::AppState;
use crate::{lineage, orders, shop_floor};

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/", get(orders::menu).post(orders::place_order))
        .route("/orders", get(orders::list))
        .route("/orders/search", get(orders::search))
        .route("/orders/{order_id}", get(orders::page))
        .route("/orders/{order_id}/logs", get(log_panel::order_logs))
        .route("/orders/{order_id}/logs/events", get(streams::log_events))
        .route("/orders/{order_id}/lineage", get(lineage::page))
        .route("/api/orders/events", get(streams::customer_events))
        .route("/api/orders/{order_id}", get(orders::json))
        .route("/api/orders/{order_id}/events", get(streams::order_events))
        .route("/shop-floor", get(shop_floor::page))
        .route("/shop-floor/events", get(shop_floor::events))
        .route("/shop-floor/topics/{topic}", get(shop_floor::topic))
        .route("/shop-floor/programs/{program}", get(shop_floor::program))
        .route("/shop-floor/contracts/{file}", get(shop_floor::contract))
        .route("/health-check", get(|| async { "Ok" }))
        .route("/static/{file}", get(assets::asset))
        .fallback(|| async { AppError::NotFound })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.request_deadline,
            body_deadline,
        ))
        // Inside the session layer, so its refusal is the shop's page too.
        .layer(middleware::from_fn(security::same_origin_posts))
        .layer(middleware::from_fn(security::no_store))
        .layer(middleware::from_fn_with_state(state.clone(), read_session))
        // Outside the session layer: a head this large is refused before its cookie is read.
        .layer(middleware::from_fn(head_limits::refuse_oversized_heads))
        // Outermost, so every answer is counted, refusals included.
        .layer(middleware::from_fn_with_state(
            state.web_metrics.clone(),
            metrics::record,
        ));
    security::with_headers(routes).with_state(state)
}
