//! The web app's own `[webapp]` keys about hostile clients: how long a connection may take to send
//! a request, how many connections it may hold, and how long a session lasts. They are read from
//! the system file next to the shared ones, and every one is optional.

use std::path::Path;
use std::time::Duration;

use common::settings::{IniFile, SettingsError};

const SECTION: &str = "webapp";

/// Descriptors kept back from the connection cap for the log files, the store, the broker's
/// sockets and the watch on the log folder.
pub const RESERVED_DESCRIPTORS: u64 = 64;
/// The most connections counted, whatever the limits say (an unlimited descriptor limit, say):
/// far more than one web app process serves.
pub const MAX_CONNECTIONS_CEILING: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct WebLimits {
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
}

pub mod defaults {
    pub const REQUEST_DEADLINE_SECONDS: f64 = 30.0;
    pub const SESSION_IDLE_HOURS: f64 = 12.0;
    pub const SESSION_LIFETIME_HOURS: f64 = 7.0 * 24.0;
    pub const ORDERS_PER_MINUTE: u32 = 1200;
    pub const LOG_READS_PER_MINUTE: u32 = 300;
    /// Ended sessions are remembered this long, so no session may be longer.
    pub const MAX_SESSION_HOURS: f64 = 30.0 * 24.0;
}

impl Default for WebLimits {
    fn default() -> Self {
        Self {
            request_deadline: Duration::from_secs_f64(defaults::REQUEST_DEADLINE_SECONDS),
            max_connections: None,
            session_idle: hours(defaults::SESSION_IDLE_HOURS),
            session_lifetime: hours(defaults::SESSION_LIFETIME_HOURS),
            orders_per_minute: defaults::ORDERS_PER_MINUTE,
            log_reads_per_minute: defaults::LOG_READS_PER_MINUTE,
        }
    }
}

fn hours(hours: f64) -> Duration {
    Duration::from_secs_f64(hours * 3600.0)
}

#[allow(
    clippy::result_large_err,
    reason = "`SettingsError` is what every settings loader in `common` returns"
)]
impl WebLimits {
    /// From the system file and the `PIZZA_SYS__WEBAPP__…` variables, as every other key.
    pub fn load(sys_file: &Path) -> Result<Self, SettingsError> {
        let vars = common::settings::process_vars()?;
        Self::from_ini(&IniFile::load_with_env(
            sys_file,
            common::settings::ConfigFile::Sys,
            vars,
        )?)
    }

    pub fn from_ini(file: &IniFile) -> Result<Self, SettingsError> {
        let positive = |v: &f64| v.is_finite() && *v > 0.0 && *v < 1e9;
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
                    .ok_or_else(|| {
                        file.invalid(SECTION, "max_connections", &raw, "a whole number above 0")
                    })?,
            ),
        };
        Ok(Self {
            request_deadline: Duration::from_secs_f64(seconds),
            max_connections,
            session_idle: hours(idle),
            session_lifetime: hours(lifetime),
            orders_per_minute: file.checked_or(
                SECTION,
                "orders_per_minute",
                defaults::ORDERS_PER_MINUTE,
                "a whole number above 0",
                |v: &u32| *v > 0,
            )?,
            log_reads_per_minute: file.checked_or(
                SECTION,
                "log_reads_per_minute",
                defaults::LOG_READS_PER_MINUTE,
                "a whole number above 0",
                |v: &u32| *v > 0,
            )?,
        })
    }

    /// The connection cap actually used: the configured one, or the descriptor limit less a
    /// reserve, and never more than the descriptors allow (else accepting would fail with
    /// "too many open files" before the cap refuses anyone cleanly).
    pub fn connection_cap(&self, descriptor_limit: Option<u64>) -> usize {
        let allowed = descriptor_limit
            .map(|limit| limit.saturating_sub(RESERVED_DESCRIPTORS).max(1))
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        self.max_connections
            .unwrap_or(allowed)
            .min(allowed)
            .min(MAX_CONNECTIONS_CEILING)
    }
}

/// The process's soft limit on open descriptors, where the system says.
pub fn descriptor_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(
        clippy::result_large_err,
        reason = "the error `WebLimits::from_ini` returns"
    )]
    fn parse(text: &str) -> Result<WebLimits, SettingsError> {
        WebLimits::from_ini(&IniFile::parse(Path::new("sys.ini"), text)?)
    }

    #[test]
    fn every_key_has_a_default() {
        assert_eq!(parse("[webapp]\n").expect("parsed"), WebLimits::default());
        assert_eq!(parse("").expect("parsed"), WebLimits::default());
    }

    #[test]
    fn keys_are_read_and_checked() {
        let limits = parse(
            "[webapp]\nrequest_deadline_seconds = 1.5\nmax_connections = 100\n\
             session_idle_hours = 1\nsession_lifetime_hours = 2\norders_per_minute = 5\n",
        )
        .expect("parsed");
        assert_eq!(limits.request_deadline, Duration::from_millis(1500));
        assert_eq!(limits.max_connections, Some(100));
        assert_eq!(limits.session_idle, Duration::from_secs(3600));
        assert_eq!(limits.orders_per_minute, 5);
        let error = parse("[webapp]\nmax_connections = 0\n").expect_err("refused");
        assert!(
            error.to_string().contains("[webapp] max_connections"),
            "{error}"
        );
        assert!(parse("[webapp]\nrequest_deadline_seconds = -1\n").is_err());
    }

    #[test]
    fn the_cap_stays_below_the_descriptor_limit() {
        let limits = WebLimits {
            max_connections: Some(5000),
            ..WebLimits::default()
        };
        assert_eq!(limits.connection_cap(Some(1024)), 960);
        assert_eq!(limits.connection_cap(None), 5000);
        assert_eq!(
            WebLimits::default().connection_cap(None),
            MAX_CONNECTIONS_CEILING
        );
        assert_eq!(WebLimits::default().connection_cap(Some(1024)), 960);
    }
}
