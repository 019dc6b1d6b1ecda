//! Log lines, in the original's shape (`(bake) INFO 21:00:43.927 - Order 'b32ad' is baked!`), go
//! to stdout and to `logs/<service>.log`, formatted once. Every line about an order names it
//! (`'b32ad0f1'`), which is how the web app finds an order's lines in these files.

use std::error::Error;
use std::fmt::Write as _;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use chrono::Timelike;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

pub const LOG_FOLDER: &str = "logs";

/// Installs the subscriber. `RUST_LOG` overrides the level (default `info`). Lines are written
/// as they are logged, one write each, so nothing is left to flush at exit.
pub fn init(service: &'static str) -> std::io::Result<()> {
    std::fs::create_dir_all(LOG_FOLDER)?;
    // Written in place rather than handed to a writer thread: a line is one append to the page
    // cache, while a hand-off woke that thread for every line, which under load cost more CPU
    // than the write itself.
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(Path::new(LOG_FOLDER).join(format!("{service}.log")))?;
    let file_writer = std::sync::Mutex::new(file);
    let writer = if stdout_discarded() {
        BoxMakeWriter::new(file_writer)
    } else {
        BoxMakeWriter::new(std::io::stdout.and(file_writer))
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,librdkafka=warn,rdkafka=warn,tokio_postgres=warn")
    });
    let layer = fmt::layer()
        .event_format(OriginalFormat { service })
        .with_writer(writer);
    tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .try_init()
        .map_err(std::io::Error::other)?;
    Ok(())
}

/// True when stdout is `/dev/null`, as `start_demo.sh` and the tests run the services: the file
/// has every line, and a write to `/dev/null` is still a system call per line (about 3% of a
/// stage's CPU under load).
fn stdout_discarded() -> bool {
    let Ok(null) = std::fs::metadata("/dev/null") else {
        return false;
    };
    std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|stdout| stdout.metadata())
        .is_ok_and(|stdout| stdout.dev() == null.dev() && stdout.ino() == null.ino())
}

/// `(service) LEVEL HH:MM:SS.mmm - message`, local time, as the original's Python logging wrote it.
struct OriginalFormat {
    service: &'static str,
}

impl<S, N> FormatEvent<S, N> for OriginalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARNING",
            Level::INFO => "INFO",
            Level::DEBUG => "DEBUG",
            Level::TRACE => "TRACE",
        };
        // Written field by field: a format string would be parsed again for every line.
        let now = chrono::Local::now();
        write!(
            writer,
            "({}) {level} {:02}:{:02}:{:02}.{:03} - ",
            self.service,
            now.hour(),
            now.minute(),
            now.second(),
            now.timestamp_subsec_millis().min(999),
        )?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// An error and each of its causes, `outer: inner: innermost`, for one log line.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// Controls, and the format and separator characters (Unicode Cf, Zl, Zp, as of Unicode 15)
/// that reorder or hide text, or break a line in a log file or a panel.
pub fn hides_or_breaks_text(c: char) -> bool {
    const FORMAT: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x2028, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];
    let code = u32::from(c);
    c.is_control()
        || FORMAT
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&code))
}

/// Text from outside (event values, keys, user names) as it may appear in a log line: apostrophes
/// and control, format and separator characters escaped, so it can neither name an order the way
/// our own lines do (`'b32ad0f1'`, which is how an order's lines are found), forge a line of its
/// own, nor hide or reorder what a reader sees. The escapes are JSON's (UTF-16 units), so a JSON
/// value stays valid JSON.
pub fn quote_safe(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\'' || hides_or_breaks_text(c) {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(safe, "\\u{unit:04x}");
            }
        } else {
            safe.push(c);
        }
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_cannot_name_an_order_or_break_a_line() {
        assert_eq!(quote_safe("key '0badf00d'"), "key \\u00270badf00d\\u0027");
        assert_eq!(quote_safe("a\nINFO b"), "a\\u000aINFO b");
        assert_eq!(quote_safe("a\u{2028}b\u{202e}c"), "a\\u2028b\\u202ec");
        let tagged = quote_safe("\"a\u{e0001}\"");
        assert_eq!(tagged, "\"a\\udb40\\udc01\"");
        let value: serde_json::Value = serde_json::from_str(&tagged).expect("still JSON");
        assert_eq!(value, "a\u{e0001}");
        assert_eq!(quote_safe(r#"{"username":"Ann"}"#), r#"{"username":"Ann"}"#);
        let json = quote_safe(r#"{"username":"O'Brien"}"#);
        let value: serde_json::Value = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(value["username"], "O'Brien");
    }

    #[test]
    fn an_error_chain_names_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&error), "outer: inner");
    }
}
