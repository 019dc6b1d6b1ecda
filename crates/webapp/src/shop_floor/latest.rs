//! A topic's latest events, as its drill-down shows them: read from the broker on demand, at
//! most once per topic every few seconds whoever asks (the readings are shared), and shown so
//! that no customer sees another's order: an event of someone else's order keeps its place,
//! time and status, and loses its key (the order id) and, on `pizza-ordered`, the order itself
//! (name, customer id, pizza).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::kafka::{HistoryReader, Record};
use common::settings::KafkaSettings;
use store::Orders;

/// How many events the drill-down shows.
pub(crate) const SHOWN: usize = 20;
/// Readings younger than this are shown again instead of asking the broker.
const FRESH: Duration = Duration::from_secs(2);
const PATIENCE: Duration = Duration::from_secs(5);

/// What a field of someone else's event is shown as.
pub(crate) const WITHHELD: &str = "(withheld: another customer's)";

/// One event as the drill-down lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    pub partition: i32,
    pub offset: i64,
    pub time: String,
    /// The order id, or [`WITHHELD`].
    pub key: String,
    pub value: String,
    pub own: bool,
}

/// When a topic was read, and what it held.
type Reading = (Instant, Arc<Vec<Record>>);

/// The readings of each topic, shared by every watcher.
#[derive(Default)]
pub(crate) struct Latest {
    read: Mutex<HashMap<String, Reading>>,
}

impl std::fmt::Debug for Latest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latest").finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Latest {
    /// The latest events of `topic`, newest first; read now unless they were moments ago.
    pub(crate) async fn of(
        &self,
        kafka: &KafkaSettings,
        client_id: &str,
        topic: &str,
    ) -> Result<Arc<Vec<Record>>, String> {
        if let Some((at, records)) = locked(&self.read).get(topic) {
            if at.elapsed() < FRESH {
                return Ok(records.clone());
            }
        }
        let (kafka, client_id, name) = (kafka.clone(), client_id.to_owned(), topic.to_owned());
        let read = tokio::task::spawn_blocking(move || {
            HistoryReader::new(&kafka, &client_id, PATIENCE)
                .and_then(|reader| reader.latest(&name, SHOWN))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| common::runtime::logging::error_chain(&e))?;
        let records = Arc::new(read);
        locked(&self.read).insert(topic.to_owned(), (Instant::now(), records.clone()));
        Ok(records)
    }
}

/// The events as `customer_id` may see them.
pub(crate) async fn shown(
    records: &[Record],
    customer_id: &str,
    orders: &dyn Orders,
    ordered_topic: &str,
) -> Vec<Shown> {
    let mut owners: HashMap<String, bool> = HashMap::new();
    let mut shown = Vec::with_capacity(records.len());
    for record in records {
        let key = record
            .key
            .as_deref()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        let own = match owners.get(&key) {
            Some(own) => *own,
            None => {
                let own = orders
                    .get_order(&key)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|order| order.details.customer_id == customer_id);
                owners.insert(key.clone(), own);
                own
            }
        };
        let value = String::from_utf8_lossy(record.value.as_deref().unwrap_or_default());
        let value = if own || record.topic != ordered_topic {
            value.into_owned()
        } else {
            without_order(&value)
        };
        shown.push(Shown {
            partition: record.partition,
            offset: record.offset,
            time: record
                .time_ms
                .map(crate::pages::format_time)
                .unwrap_or_default(),
            key: if own { key } else { WITHHELD.to_owned() },
            value,
            own,
        });
    }
    shown
}

/// A `pizza-ordered` value with its `order` (name, customer id, pizza) withheld; a value that
/// is not such an object is withheld whole.
fn without_order(value: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(mut fields)) => {
            if fields.contains_key("order") {
                fields.insert("order".into(), serde_json::Value::from(WITHHELD));
            }
            serde_json::Value::Object(fields).to_string()
        }
        _ => WITHHELD.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn someone_elses_order_loses_its_name_customer_and_pizza() {
        let value =
            r#"{"status": 100, "timestamp": 1, "order": {"username": "Ann", "customer_id": "ab"}}"#;
        let hidden = without_order(value);
        assert!(
            !hidden.contains("Ann") && !hidden.contains("\"ab\""),
            "{hidden}"
        );
        assert!(hidden.contains("\"status\":100"), "{hidden}");
        assert_eq!(without_order("not json"), WITHHELD);
    }
}
