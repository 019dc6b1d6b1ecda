//! Logging in (a name, a new customer id, the session cookie) and out (the session ended on every
//! web app sharing the store).

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use common::domain::events::now_ms;
use common::runtime::logging::quote_safe;

use super::{username_from_form, Customer, SessionState, COOKIE, MAX_USERNAME_CHARS};
use crate::error::AppError;
use crate::http::form_field::single_field;
use crate::pages::render;

#[derive(Debug, Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    username: Option<&'a str>,
    searched: &'a str,
    max_chars: usize,
}

pub async fn login_page() -> Result<Response, AppError> {
    render(LoginPage {
        username: None,
        searched: "",
        max_chars: MAX_USERNAME_CHARS,
    })
}

/// The login form, read by hand: a name that is not UTF-8 is refused, where a form extractor
/// would quietly turn its bytes into U+FFFD.
pub async fn login(
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
    let raw = single_field(&body, "username")
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
        quote_safe(&customer.username),
        customer.customer_id
    );
    Ok((jar.add(customer.cookie()), Redirect::to("/")).into_response())
}

/// Ends the session on every web app sharing the store, so the cookie is worth nothing even
/// where the browser (or anyone who copied it) keeps it. A `POST`, behind the same-origin check,
/// so another site cannot log a customer out.
pub async fn logout(
    State(sessions): State<Arc<SessionState>>,
    jar: PrivateCookieJar,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    if let Some(customer) = request.extensions().get::<Customer>() {
        sessions
            .store
            .end_sessions(&customer.customer_id, now_ms())
            .await?;
        tracing::info!("customer_id '{}' logged out", customer.customer_id);
    }
    Ok((jar.remove(COOKIE), Redirect::to("/login")).into_response())
}
