//! Who is ordering: an encrypted, authenticated cookie naming the customer (its key: see
//! [`crate::session_key`]).

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::PrivateCookieJar;

use crate::error::ErrorPage;

pub const COOKIE: &str = "pizza_session";
pub const MAX_USERNAME_CHARS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub customer_id: String,
    pub username: String,
}

impl Customer {
    /// A new customer per login, as in the original: 32 random hex digits.
    pub fn new(username: String) -> Self {
        Self {
            customer_id: format!("{:032x}", rand::random::<u128>()),
            username,
        }
    }

    fn encode(&self) -> String {
        format!("{}:{}", self.customer_id, self.username)
    }

    fn decode(value: &str) -> Option<Self> {
        let (customer_id, username) = value.split_once(':')?;
        Some(Self {
            customer_id: customer_id.to_owned(),
            username: username.to_owned(),
        })
    }

    pub fn cookie(&self) -> Cookie<'static> {
        Cookie::build((COOKIE, self.encode()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .build()
    }
}

/// Trims the login name; empty means "Anonymous". `None` when it is too long or holds control
/// characters (a line break in a name could forge a log line that names someone else's order).
pub fn username_from_form(raw: &str) -> Option<String> {
    let name = raw.trim();
    if name.chars().count() > MAX_USERNAME_CHARS || name.chars().any(char::is_control) {
        None
    } else if name.is_empty() {
        Some("Anonymous".to_owned())
    } else {
        Some(name.to_owned())
    }
}

/// Reads the session once per request, so handlers get it as a [`Customer`]; and renders the
/// error pages of the answer, so a signed-in customer keeps the navigation and search on them.
pub async fn read_session(jar: PrivateCookieJar, mut request: Request, next: Next) -> Response {
    let customer = jar
        .get(COOKIE)
        .and_then(|cookie| Customer::decode(cookie.value()));
    let name = customer.as_ref().map(|c| c.username.clone());
    if let Some(customer) = customer {
        request.extensions_mut().insert(customer);
    }
    let response = next.run(request).await;
    match response.extensions().get::<ErrorPage>().cloned() {
        Some(page) => crate::pages::error_page(response.status(), &page, name.as_deref()),
        None => response,
    }
}

/// Pages that need a customer take this; without a valid session they lead to /login.
impl<S: Send + Sync> FromRequestParts<S> for Customer {
    type Rejection = Redirect;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Customer>()
            .cloned()
            .ok_or_else(|| Redirect::to("/login"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_bounded_and_default_to_anonymous() {
        assert_eq!(username_from_form("  Ann  ").as_deref(), Some("Ann"));
        assert_eq!(username_from_form("   ").as_deref(), Some("Anonymous"));
        assert_eq!(
            username_from_form("ééééééééééééééé").as_deref(),
            Some("ééééééééééééééé")
        );
        assert_eq!(username_from_form("seventeen chars!!"), None);
        assert_eq!(username_from_form("Ann\nINFO Order"), None);
        assert_eq!(username_from_form("Ann\u{1b}[31m"), None);
    }

    #[test]
    fn session_values_round_trip_names_with_colons() {
        let customer = Customer {
            customer_id: "ab".into(),
            username: "a:b".into(),
        };
        assert_eq!(Customer::decode(&customer.encode()), Some(customer));
    }

    proptest::proptest! {
        #[test]
        fn any_username_is_refused_or_short_and_printable(raw in ".{0,40}") {
            if let Some(name) = username_from_form(&raw) {
                proptest::prop_assert!(name.chars().count() <= MAX_USERNAME_CHARS);
                proptest::prop_assert!(!name.chars().any(char::is_control));
            }
        }
    }
}
