//! Log lines go to stdout and to `logs/<service>.log`. Every line about an order names it
//! (`order 'b32ad0f1'`), which is how the web app finds an order's lines in these files.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

pub const LOG_FOLDER: &str = "logs";

/// Keeps the file writer alive; dropping it flushes what is still buffered.
pub struct LogGuard {
    _file: WorkerGuard,
}

/// Installs the subscriber. `RUST_LOG` overrides the level (default `info`).
pub fn init(service: &str) -> std::io::Result<LogGuard> {
    std::fs::create_dir_all(LOG_FOLDER)?;
    let file = tracing_appender::rolling::never(Path::new(LOG_FOLDER), format!("{service}.log"));
    let (file_writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,librdkafka=warn,rdkafka=warn"));
    let to_file = fmt::layer()
        .with_ansi(false)
        .with_target(false)
        .with_writer(file_writer);
    let to_stdout = fmt::layer().with_target(false);
    tracing_subscriber::registry()
        .with(filter)
        .with(to_file)
        .with(to_stdout)
        .try_init()
        .map_err(std::io::Error::other)?;
    Ok(LogGuard { _file: guard })
}

/// Text from outside (event values, keys, user names) as it may appear in a log line: apostrophes
/// and control characters escaped, so it can neither name an order the way our own lines do
/// (`'b32ad0f1'`, which is how an order's lines are found) nor forge a line of its own. The
/// escapes are JSON's, so a JSON value stays valid JSON.
pub fn quote_safe(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\'' || c.is_control() {
            safe.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            safe.push(c);
        }
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::quote_safe;

    #[test]
    fn outside_text_cannot_name_an_order_or_break_a_line() {
        assert_eq!(quote_safe("key '0badf00d'"), "key \\u00270badf00d\\u0027");
        assert_eq!(quote_safe("a\nINFO b"), "a\\u000aINFO b");
        assert_eq!(quote_safe(r#"{"username":"Ann"}"#), r#"{"username":"Ann"}"#);
        let json = quote_safe(r#"{"username":"O'Brien"}"#);
        let value: serde_json::Value = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(value["username"], "O'Brien");
    }
}
