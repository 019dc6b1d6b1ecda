//! Who is ordering: an encrypted, authenticated cookie naming the customer. The key comes from
//! `[webapp] session_key_file`, generated on first start and readable by its owner only.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{Redirect, Response};
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
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

/// Reads the signing key, or makes one and keeps it with owner-only permissions.
pub fn load_or_create_key(path: &Path) -> std::io::Result<Key> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= 64 => return Ok(Key::from(&bytes)),
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} holds fewer than 64 bytes; delete it to have a new key made",
                path.display()
            )))
        }
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        Err(_) => {}
    }
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    let key = Key::generate();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key.master())?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

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
    fn the_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys/session.key");
        let first = load_or_create_key(&path).expect("created");
        let again = load_or_create_key(&path).expect("read back");
        assert_eq!(first.master(), again.master());
        let mode = std::fs::metadata(&path).expect("exists").mode() & 0o777;
        assert_eq!(mode, 0o600);
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
