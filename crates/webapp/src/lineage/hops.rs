//! An order's events as the lineage page lists them: in time order, each with the program that
//! wrote it and the time since the one before. Pure, so the rules are tested without a broker.

use common::domain::status::StatusEvent;
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::Record;
use common::settings::SysSettings;

/// One event of the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// When it was written, local time with milliseconds.
    pub time: String,
    /// The program that wrote it, or who else did.
    pub writer: String,
    /// The value as it is on the topic.
    pub value: String,
    /// What the status is called, for a status event.
    pub status: Option<String>,
    /// How long after the event before it (none for the first).
    pub after: Option<String>,
}

/// The hops of an order from its events, oldest first (by when they were written, then in the
/// order an order meets the topics, then by offset).
pub fn hops(mut records: Vec<(Topic, Record)>, sys: &SysSettings) -> Vec<Hop> {
    records.sort_by_key(|(topic, record)| {
        (
            record.time_ms.unwrap_or(i64::MAX),
            Topic::ALL.iter().position(|t| t == topic),
            record.offset,
        )
    });
    let mut previous: Option<i64> = None;
    records
        .into_iter()
        .map(|(topic, record)| {
            let time_ms = record.time_ms;
            let after = match (previous, time_ms) {
                (Some(before), Some(now)) => Some(format!("+{} ms", (now - before).max(0))),
                _ => None,
            };
            if time_ms.is_some() {
                previous = time_ms;
            }
            let status = (topic == Topic::Status)
                .then(|| status_event(&record))
                .flatten();
            Hop {
                topic: record.topic.clone(),
                partition: record.partition,
                offset: record.offset,
                time: time_ms.map(time_with_ms).unwrap_or_default(),
                writer: writer(topic, &record, status.as_ref(), sys),
                status: status.map(|s| sys.status.label(s.at.status).into_owned()),
                value: String::from_utf8_lossy(record.value.as_deref().unwrap_or_default())
                    .into_owned(),
                after,
            }
        })
        .collect()
}

fn status_event(record: &Record) -> Option<StatusEvent> {
    serde_json::from_slice(record.value.as_deref()?).ok()
}

/// Who wrote an event: the topic's one writer; for `pizza-status`, what the event says
/// (`written_by`, since version 2 of its contract), ksqlDB when its names are upper case, or
/// else the program whose stage the status is; for a dead letter, the service that gave it up.
fn writer(
    topic: Topic,
    record: &Record,
    status: Option<&StatusEvent>,
    sys: &SysSettings,
) -> String {
    if topic == Topic::DeadLetter {
        return record
            .headers
            .iter()
            .find(|(key, _)| key == "error.service")
            .map_or_else(|| "unknown".to_owned(), |(_, service)| service.clone());
    }
    if topic != Topic::Status {
        let writers = ServiceName::writers(topic);
        return match writers.as_slice() {
            [one] => one.as_str().to_owned(),
            _ => "unknown".to_owned(),
        };
    }
    let Some(status) = status else {
        return "unknown".to_owned();
    };
    if let Some(by) = &status.written_by {
        return by.clone();
    }
    let value = record.value.as_deref().unwrap_or_default();
    if value.windows(8).any(|w| w == b"\"STATUS\"") {
        return "ksqlDB".to_owned();
    }
    let ids = &sys.status.ids;
    let code = status.at.status;
    let stage = if code == ids.order_placed {
        Some(ServiceName::Webapp)
    } else if code == ids.pizza_assembled {
        Some(ServiceName::Assemble)
    } else if code == ids.pizza_baked {
        Some(ServiceName::Bake)
    } else if code == ids.delivered || code == ids.pending {
        Some(ServiceName::Delivery)
    } else {
        None
    };
    stage.map_or_else(
        || "a service (the event does not say which)".to_owned(),
        |s| s.as_str().to_owned(),
    )
}

/// `21:00:43.927`, local time, as the log lines show it.
fn time_with_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S%.3f")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::kafka::test_settings;

    fn record(topic: &str, offset: i64, time_ms: i64, value: &str) -> Record {
        Record {
            topic: topic.into(),
            partition: 1,
            offset,
            time_ms: Some(time_ms),
            key: Some(b"a1b2c3d4".to_vec()),
            value: Some(value.as_bytes().to_vec()),
            headers: Vec::new(),
        }
    }

    #[test]
    fn hops_come_in_time_order_with_their_writers_and_the_time_between() {
        let sys = test_settings().sys;
        let mut dead = record("pizza-dead-letter", 0, 1_060, "{not json");
        dead.headers = vec![("error.service".into(), "bake".into())];
        let records = vec![
            (
                Topic::Status,
                record(
                    "pizza-status",
                    9,
                    1_012,
                    r#"{"status": 200, "timestamp": 1, "written_by": "assemble"}"#,
                ),
            ),
            (Topic::Ordered, record("pizza-ordered", 3, 1_000, "{}")),
            (
                Topic::Status,
                record(
                    "pizza-status",
                    8,
                    1_001,
                    r#"{"status": 100, "timestamp": 1}"#,
                ),
            ),
            (Topic::Assembled, record("pizza-assembled", 4, 1_010, "{}")),
            (
                Topic::Status,
                record("pizza-status", 10, 1_030, r#"{"STATUS":300,"TIMESTAMP":1}"#),
            ),
            (Topic::DeadLetter, dead),
        ];
        let hops = hops(records, &sys);
        let seen: Vec<(&str, i64, &str, Option<&str>)> = hops
            .iter()
            .map(|h| {
                (
                    h.topic.as_str(),
                    h.offset,
                    h.writer.as_str(),
                    h.after.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("pizza-ordered", 3, "webapp", None),
                ("pizza-status", 8, "webapp", Some("+1 ms")),
                ("pizza-assembled", 4, "assemble", Some("+9 ms")),
                ("pizza-status", 9, "assemble", Some("+2 ms")),
                ("pizza-status", 10, "ksqlDB", Some("+18 ms")),
                ("pizza-dead-letter", 0, "bake", Some("+30 ms")),
            ]
        );
        assert_eq!(
            hops[1].status.as_deref(),
            Some("Order received and being prepared")
        );
        assert_eq!(hops[0].status, None);
    }
}
