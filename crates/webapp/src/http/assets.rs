//! The stylesheet, scripts and pictures, built into the binary so the pages work from any folder
//! and with no internet.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../../static/style.css"),
    ),
    (
        "order.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../static/order.js"),
    ),
    (
        "orders.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../static/orders.js"),
    ),
    (
        "shop_floor.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../static/shop_floor.js"),
    ),
    (
        "menu.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../static/menu.js"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_bytes!("../../../../static/logo.svg"),
    ),
    // The navigation's "Demo Architecture" and "Demo Service Flow".
    (
        "architecture.svg",
        "image/svg+xml",
        include_bytes!("../../../../static/architecture.svg"),
    ),
    (
        "service_flow.svg",
        "image/svg+xml",
        include_bytes!("../../../../static/service_flow.svg"),
    ),
];

pub async fn asset(Path(name): Path<String>) -> Result<Response, AppError> {
    let (_, content_type, bytes) = ASSETS
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        *bytes,
    )
        .into_response())
}
