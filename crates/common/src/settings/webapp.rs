//! `[webapp]`: where the web app listens, its session key, and what it allows a client: how long
//! a connection may take to send a request, how many connections and streams it may hold, how
//! long a session lasts, and each customer's share. Every key is optional; read once, with the
//! rest of the system file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{IniFile, SettingsError};

const SECTION: &str = "webapp";

#[derive(Debug, Clone, PartialEq)]
pub struct WebappSettings {
    pub bind: SocketAddr,
    /// Key of the (encrypted, authenticated) session cookies; generated on first start, readable
    /// by its owner only.
    pub session_key_file: PathBuf,
    /// Live streams (pages following orders) this web app keeps open at most.
    pub max_streams: usize,
    /// Live streams one customer may keep open.
    pub max_streams_per_customer: usize,
    /// Time a client has to send a request's head (and, for a connection kept open between
    /// requests, the next one's), and then its body.
    pub request_deadline: Duration,
    /// Connections held at once; `None` means "below the process's descriptor limit".
    pub max_connections: Option<usize>,
    /// A session unused this long ends.
    pub session_idle: Duration,
    /// A session ends this long after its login, used or not.
    pub session_lifetime: Duration,
    /// Orders one customer may place per minute (a tenth of it at once).
    pub orders_per_minute: u32,
    /// Log panels (read or opened as a stream) one customer may ask for per minute.
    pub log_reads_per_minute: u32,
    /// Looks at the topics themselves (an order's lineage, a topic's latest events) one customer
    /// may ask for per minute.
    pub lookups_per_minute: u32,
}

pub mod defaults {
    pub const BIND: &str = "127.0.0.1:8000";
    pub const SESSION_KEY_FILE: &str = "data/session.key";
    pub const MAX_STREAMS: usize = 20_000;
    pub const MAX_STREAMS_PER_CUSTOMER: usize = 16;
    pub const REQUEST_DEADLINE_SECONDS: f64 = 30.0;
    pub const SESSION_IDLE_HOURS: f64 = 12.0;
    pub const SESSION_LIFETIME_HOURS: f64 = 7.0 * 24.0;
    pub const ORDERS_PER_MINUTE: u32 = 1200;
    pub const LOG_READS_PER_MINUTE: u32 = 300;
    pub const LOOKUPS_PER_MINUTE: u32 = 60;
    /// Ended sessions are remembered this long, so no session may be longer.
    pub const MAX_SESSION_HOURS: f64 = 30.0 * 24.0;
}

impl Default for WebappSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            session_key_file: defaults::SESSION_KEY_FILE.into(),
            max_streams: defaults::MAX_STREAMS,
            max_streams_per_customer: defaults::MAX_STREAMS_PER_CUSTOMER,
            request_deadline: Duration::from_secs_f64(defaults::REQUEST_DEADLINE_SECONDS),
            max_connections: None,
            session_idle: hours(defaults::SESSION_IDLE_HOURS),
            session_lifetime: hours(defaults::SESSION_LIFETIME_HOURS),
            orders_per_minute: defaults::ORDERS_PER_MINUTE,
            log_reads_per_minute: defaults::LOG_READS_PER_MINUTE,
            lookups_per_minute: defaults::LOOKUPS_PER_MINUTE,
        }
    }
}

fn hours(hours: f64) -> Duration {
    Duration::from_secs_f64(hours * 3600.0)
}

impl WebappSettings {
    pub(super) fn from_ini(file: &IniFile) -> Result<Self, SettingsError> {
        let positive = |v: &f64| v.is_finite() && *v > 0.0 && *v < 1e9;
        let above_zero = "a whole number above 0";
        let bind = file.checked_or(
            SECTION,
            "bind",
            defaults::BIND
                .parse()
                .map_err(|_| file.invalid(SECTION, "bind", defaults::BIND, "an address"))?,
            "an address such as 127.0.0.1:8000",
            |_| true,
        )?;
        let seconds = file.checked_or(
            SECTION,
            "request_deadline_seconds",
            defaults::REQUEST_DEADLINE_SECONDS,
            "a number of seconds above 0",
            positive,
        )?;
        let idle = file.checked_or(
            SECTION,
            "session_idle_hours",
            defaults::SESSION_IDLE_HOURS,
            "a number of hours above 0",
            positive,
        )?;
        let lifetime = file.checked_or(
            SECTION,
            "session_lifetime_hours",
            defaults::SESSION_LIFETIME_HOURS,
            "a number of hours above 0 and at most 720",
            |v: &f64| positive(v) && *v <= defaults::MAX_SESSION_HOURS,
        )?;
        let max_connections = match file.optional(SECTION, "max_connections")? {
            None => None,
            Some(raw) => Some(
                raw.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| file.invalid(SECTION, "max_connections", &raw, above_zero))?,
            ),
        };
        Ok(Self {
            bind,
            session_key_file: file
                .optional(SECTION, "session_key_file")?
                .unwrap_or_else(|| defaults::SESSION_KEY_FILE.to_owned())
                .into(),
            max_streams: file.checked_or(
                SECTION,
                "max_streams",
                defaults::MAX_STREAMS,
                above_zero,
                |v: &usize| *v > 0,
            )?,
            max_streams_per_customer: file.checked_or(
                SECTION,
                "max_streams_per_customer",
                defaults::MAX_STREAMS_PER_CUSTOMER,
                above_zero,
                |v: &usize| *v > 0,
            )?,
            request_deadline: Duration::from_secs_f64(seconds),
            max_connections,
            session_idle: hours(idle),
            session_lifetime: hours(lifetime),
            orders_per_minute: file.checked_or(
                SECTION,
                "orders_per_minute",
                defaults::ORDERS_PER_MINUTE,
                above_zero,
                |v: &u32| *v > 0,
            )?,
            log_reads_per_minute: file.checked_or(
                SECTION,
                "log_reads_per_minute",
                defaults::LOG_READS_PER_MINUTE,
                above_zero,
                |v: &u32| *v > 0,
            )?,
            lookups_per_minute: file.checked_or(
                SECTION,
                "lookups_per_minute",
                defaults::LOOKUPS_PER_MINUTE,
                above_zero,
                |v: &u32| *v > 0,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[allow(
        clippy::result_large_err,
        reason = "the error every settings loader returns"
    )]
    fn parse(text: &str) -> Result<WebappSettings, SettingsError> {
        WebappSettings::from_ini(&IniFile::parse(Path::new("sys.ini"), text)?)
    }

    #[test]
    fn every_key_has_a_default() {
        assert_eq!(
            parse("[webapp]\n").expect("parsed"),
            WebappSettings::default()
        );
        assert_eq!(parse("").expect("parsed"), WebappSettings::default());
    }

    #[test]
    fn keys_are_read_and_checked() {
        let settings = parse(
            "[webapp]\nrequest_deadline_seconds = 1.5\nmax_connections = 100\n\
             session_idle_hours = 1\nsession_lifetime_hours = 2\norders_per_minute = 5\n",
        )
        .expect("parsed");
        assert_eq!(settings.request_deadline, Duration::from_millis(1500));
        assert_eq!(settings.max_connections, Some(100));
        assert_eq!(settings.session_idle, Duration::from_secs(3600));
        assert_eq!(settings.orders_per_minute, 5);
        let error = parse("[webapp]\nmax_connections = 0\n").expect_err("refused");
        assert!(
            error.to_string().contains("[webapp] max_connections"),
            "{error}"
        );
        assert!(parse("[webapp]\nrequest_deadline_seconds = -1\n").is_err());
        assert!(parse("[webapp]\nsession_lifetime_hours = 721\n").is_err());
    }
}
