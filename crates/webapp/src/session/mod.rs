//! Who is ordering: an encrypted, authenticated cookie naming the customer (its key: [`key`]),
//! read once per request ([`read_session`]) and handed to handlers as a [`Customer`]; logging in
//! and out ([`handlers`]).

pub mod handlers;
pub mod key;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::PrivateCookieJar;

use common::runtime::logging::hides_or_breaks_text;
use store::Sessions;

use crate::error::{AppError, ErrorPage};
use crate::pages::error_page;

/// What sessions need: how long one lasts, and the store where logouts are kept, so a session
/// ended on one web app is refused by every one sharing the store.
pub struct SessionState {
    pub store: Arc<dyn Sessions>,
    /// A session unused this long ends (`[webapp] session_idle_hours`).
    pub idle: Duration,
    /// A session ends this long after its login (`[webapp] session_lifetime_hours`).
    pub lifetime: Duration,
}

impl std::fmt::Debug for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionState")
            .field("idle", &self.idle)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

pub const COOKIE: &str = "pizza_session";
pub const MAX_USERNAME_CHARS: usize = 16;
/// The cookie's shape: a cookie of another shape (an older one) is no session.
const VERSION: &str = "2";
/// A session's "last used" time is rewritten at most this often, so an active customer's
/// cookie is not reissued on every request.
const REFRESH_EVERY_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub customer_id: String,
    pub username: String,
    /// When the customer logged in, in seconds since the epoch.
    pub issued_at: i64,
    /// When the session was last used (to within `REFRESH_EVERY_SECONDS`).
    pub seen_at: i64,
}

pub fn now_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Customer {
    /// A new customer per login, as in the original: 32 random hex digits.
    pub fn new(username: String) -> Self {
        let now = now_seconds();
        Self {
            customer_id: format!("{:032x}", rand::random::<u128>()),
            username,
            issued_at: now,
            seen_at: now,
        }
    }

    fn encode(&self) -> String {
        format!(
            "{VERSION}:{}:{}:{}:{}",
            self.customer_id, self.issued_at, self.seen_at, self.username
        )
    }

    fn decode(value: &str) -> Option<Self> {
        let mut parts = value.splitn(5, ':');
        if parts.next()? != VERSION {
            return None;
        }
        let customer_id = parts.next()?.to_owned();
        let issued_at = parts.next()?.parse().ok()?;
        let seen_at = parts.next()?.parse().ok()?;
        Some(Self {
            customer_id,
            issued_at,
            seen_at,
            username: parts.next()?.to_owned(),
        })
    }

    /// The session cookie. It lasts as long as the browser keeps it; when the session ends is
    /// written inside it, where it cannot be changed.
    pub fn cookie(&self) -> Cookie<'static> {
        Cookie::build((COOKIE, self.encode()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .build()
    }

    /// Whether the session is still alive at `now`: used within `idle`, and logged in within
    /// `lifetime`. A time in the future is a forged or mis-set clock, and not trusted either.
    pub fn alive(&self, now: i64, idle: Duration, lifetime: Duration) -> bool {
        let within = |since: i64, limit: Duration| {
            let age = now - since;
            age >= -REFRESH_EVERY_SECONDS
                && u64::try_from(age.max(0)).is_ok_and(|age| age < limit.as_secs())
        };
        within(self.issued_at, lifetime) && within(self.seen_at, idle)
    }
}

/// Trims the login name; empty means "Anonymous". `None` when it is too long or holds control,
/// format or separator characters (a line break in a name could forge a log line that names
/// someone else's order; a right-to-left override could disguise one).
pub fn username_from_form(raw: &str) -> Option<String> {
    // Looked for before trimming: the separators count as white space and would be trimmed
    // away unseen at either end.
    let hides = raw
        .chars()
        .any(|c| hides_or_breaks_text(c) && !c.is_ascii_whitespace());
    let name = raw.trim();
    if hides || name.chars().count() > MAX_USERNAME_CHARS || name.chars().any(hides_or_breaks_text)
    {
        None
    } else if name.is_empty() {
        Some("Anonymous".to_owned())
    } else {
        Some(name.to_owned())
    }
}

/// Reads the session once per request, so handlers get it as a [`Customer`]; keeps a used
/// session alive; and renders the error pages of the answer, so a signed-in customer keeps the
/// navigation and search on them.
pub async fn read_session(
    State(sessions): State<Arc<SessionState>>,
    jar: PrivateCookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let now = now_seconds();
    let (idle, lifetime) = (sessions.idle, sessions.lifetime);
    let customer = jar
        .get(COOKIE)
        .and_then(|cookie| Customer::decode(cookie.value()))
        .filter(|customer| customer.alive(now, idle, lifetime));
    let name = customer.as_ref().map(|c| c.username.clone());
    if let Some(customer) = &customer {
        request.extensions_mut().insert(customer.clone());
    }
    let mut response = next.run(request).await;
    if let Some(page) = response.extensions().get::<ErrorPage>().cloned() {
        response = error_page(response.status(), &page, name.as_deref()).with_headers_of(response);
    } else if (response.status().is_client_error() || response.status().is_server_error())
        && !is_html(&response)
    {
        // A refusal made before any handler ran (a form that cannot be read, a wrong method):
        // the shop's page too, with the status's name.
        let page = ErrorPage::for_status(response.status());
        response = error_page(response.status(), &page, name.as_deref()).with_headers_of(response);
    }
    let handler_set_cookie = response.headers().contains_key(header::SET_COOKIE);
    match customer {
        Some(mut customer)
            if !handler_set_cookie && now - customer.seen_at >= REFRESH_EVERY_SECONDS =>
        {
            customer.seen_at = now;
            (jar.add(customer.cookie()), response).into_response()
        }
        _ => response,
    }
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Copies what the first answer said besides its body (`Allow`, `Retry-After`, cookies) onto
/// the error page that replaces it.
trait WithHeadersOf {
    fn with_headers_of(self, original: Response) -> Response;
}

impl WithHeadersOf for Response {
    fn with_headers_of(mut self, original: Response) -> Response {
        for (name, value) in original.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                self.headers_mut().append(name.clone(), value.clone());
            }
        }
        self
    }
}

/// Pages that need a customer take this; without a valid session, or with one that was ended
/// (on any web app sharing the store), they lead to /login.
impl<S> FromRequestParts<S> for Customer
where
    Arc<SessionState>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/login").into_response();
        let customer = parts
            .extensions
            .get::<Customer>()
            .cloned()
            .ok_or_else(to_login)?;
        let sessions = Arc::<SessionState>::from_ref(state);
        match sessions.store.sessions_ended(&customer.customer_id).await {
            Ok(false) => Ok(customer),
            Ok(true) => Err(to_login()),
            Err(error) => Err(AppError::Store(error).into_response()),
        }
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
        assert_eq!(username_from_form("Ann\u{202e}nnA"), None);
        assert_eq!(username_from_form("Ann\u{2028}x"), None);
        assert_eq!(username_from_form("Ann\u{2028}"), None);
        assert_eq!(username_from_form("Ann\u{2029}x"), None);
        assert_eq!(username_from_form("A\u{200b}nn"), None);
        assert_eq!(username_from_form("A\u{feff}"), None);
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let (idle, lifetime) = (Duration::from_secs(100), Duration::from_secs(1000));
        let customer = Customer {
            customer_id: "ab".into(),
            username: "Ann".into(),
            issued_at: 10_000,
            seen_at: 10_500,
        };
        assert!(customer.alive(10_550, idle, lifetime));
        assert!(!customer.alive(10_600, idle, lifetime), "idle too long");
        let used = Customer {
            seen_at: 10_990,
            ..customer.clone()
        };
        assert!(!used.alive(11_000, idle, lifetime), "too old, though used");
        assert!(!customer.alive(5_000, idle, lifetime), "from the future");
        assert_eq!(
            Customer::decode("ab:Ann"),
            None,
            "a cookie of the old shape"
        );
    }

    #[test]
    fn session_values_round_trip_names_with_colons() {
        let customer = Customer {
            customer_id: "ab".into(),
            username: "a:b".into(),
            issued_at: 10,
            seen_at: 20,
        };
        assert_eq!(Customer::decode(&customer.encode()), Some(customer));
    }

    proptest::proptest! {
        #[test]
        fn any_username_is_refused_or_short_and_printable(raw in ".{0,40}") {
            if let Some(name) = username_from_form(&raw) {
                proptest::prop_assert!(name.chars().count() <= MAX_USERNAME_CHARS);
                proptest::prop_assert!(!name.chars().any(hides_or_breaks_text));
            }
        }
    }
}
