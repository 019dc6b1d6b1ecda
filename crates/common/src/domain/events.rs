//! The events on each topic. Every event is JSON keyed by the order id; unknown fields are
//! ignored so producers can add fields without breaking consumers, and a missing or mistyped
//! required field is an [`EventError`], never a panic.

pub mod python_json;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::status::StatusAt;

/// What is on the pizza: the order form's choices, all from the menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pizza {
    pub sauce: String,
    pub cheese: String,
    pub main_topping: String,
    pub extra_toppings: Vec<String>,
}

/// Who ordered what: the `order` of a `pizza-ordered` event, and what the view keeps of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    pub customer_id: String,
    /// The original demo called this field `name`.
    #[serde(alias = "name")]
    pub username: String,
    #[serde(flatten)]
    pub pizza: Pizza,
}

/// `pizza-ordered`: the Command side's record of a new order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PizzaOrdered {
    pub status: i64,
    pub timestamp: i64,
    pub order: OrderDetails,
}

/// `pizza-assembled`: the kitchen has put the pizza together and says how long it bakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PizzaAssembled {
    pub status: i64,
    pub baking_time: u64,
    pub timestamp: i64,
}

/// An event that marks a stage of an order, and so carries the status that stage reached.
pub trait StageEvent: Serialize + Sync {
    fn status_at(&self) -> StatusAt;
}

impl StageEvent for PizzaOrdered {
    fn status_at(&self) -> StatusAt {
        StatusAt {
            status: self.status,
            timestamp: self.timestamp,
        }
    }
}

impl StageEvent for PizzaAssembled {
    fn status_at(&self) -> StatusAt {
        StatusAt {
            status: self.status,
            timestamp: self.timestamp,
        }
    }
}

/// `pizza-baked`, `pizza-delivered` and `pizza-pending` carry nothing but the status reached.
impl StageEvent for StatusAt {
    fn status_at(&self) -> StatusAt {
        *self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the event has no key (order id)")]
    MissingKey,
    #[error("the key is not an order id: {0}")]
    BadKey(String),
    #[error("the event has no value")]
    MissingValue,
    #[error("the value is not a valid event: {0}")]
    BadValue(String),
}

/// Reads an order id from a record key: short printable text, as the web app makes them.
pub fn decode_key(key: Option<&[u8]>) -> Result<String, EventError> {
    let bytes = key.ok_or(EventError::MissingKey)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| EventError::BadKey(format!("{} bytes of non-UTF-8", bytes.len())))?;
    let valid = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(text.to_owned())
    } else {
        Err(EventError::BadKey(truncate(text, 64)))
    }
}

pub fn decode<T: DeserializeOwned>(payload: Option<&[u8]>) -> Result<T, EventError> {
    let bytes = payload.ok_or(EventError::MissingValue)?;
    serde_json::from_slice(bytes).map_err(|e| EventError::BadValue(e.to_string()))
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Milliseconds since the Unix epoch, the unit of every `timestamp` field.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_original_ordered_event() {
        let json = br#"{"status": 100, "timestamp": 1676235639159, "order": {"extra_toppings":
            ["Mushroom", "Black olives"], "customer_id": "d94a6c43", "name": "Italo",
            "sauce": "Tomato", "cheese": "Mozzarella", "main_topping": "Pepperoni"}}"#;
        let event: PizzaOrdered = decode(Some(json)).expect("valid");
        assert_eq!(event.order.username, "Italo");
        assert_eq!(
            event.order.pizza.extra_toppings,
            ["Mushroom", "Black olives"]
        );
        assert_eq!(
            event.status_at(),
            StatusAt {
                status: 100,
                timestamp: 1676235639159
            }
        );
    }

    #[test]
    fn writes_the_order_flat_with_username_and_reads_it_back() {
        let event = PizzaOrdered {
            status: 100,
            timestamp: 1,
            order: OrderDetails {
                customer_id: "c".into(),
                username: "u".into(),
                pizza: Pizza {
                    sauce: "s".into(),
                    cheese: "c".into(),
                    main_topping: "m".into(),
                    extra_toppings: vec!["e".into()],
                },
            },
        };
        let json: serde_json::Value = serde_json::to_value(&event).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"status": 100, "timestamp": 1, "order": {"customer_id": "c",
                "username": "u", "sauce": "s", "cheese": "c", "main_topping": "m",
                "extra_toppings": ["e"]}})
        );
        let bytes = serde_json::to_vec(&event).expect("serialises");
        assert_eq!(
            decode::<PizzaOrdered>(Some(&bytes)).expect("round trip"),
            event
        );
    }

    #[test]
    fn tolerates_unknown_fields() {
        let event: StatusAt =
            decode(Some(br#"{"status": 300, "timestamp": 5, "oven": 2}"#)).expect("valid");
        assert_eq!(event.status, 300);
    }

    #[test]
    fn missing_or_mistyped_fields_are_errors() {
        assert!(matches!(
            decode::<PizzaAssembled>(Some(br#"{"status": 200, "timestamp": 1}"#)),
            Err(EventError::BadValue(_))
        ));
        assert!(matches!(
            decode::<PizzaAssembled>(Some(
                br#"{"status": 200, "baking_time": "ten", "timestamp": 1}"#
            )),
            Err(EventError::BadValue(_))
        ));
        assert!(matches!(
            decode::<StatusAt>(Some(b"not json")),
            Err(EventError::BadValue(_))
        ));
        assert!(matches!(
            decode::<PizzaOrdered>(Some(
                br#"{"status": 100, "timestamp": 1, "order": {"customer_id": "c", "username": "u"}}"#
            )),
            Err(EventError::BadValue(_))
        ));
        assert_eq!(decode::<StatusAt>(None), Err(EventError::MissingValue));
    }

    #[test]
    fn keys_must_be_order_ids() {
        assert_eq!(decode_key(Some(b"b32ad0f1")), Ok("b32ad0f1".to_owned()));
        assert_eq!(decode_key(None), Err(EventError::MissingKey));
        assert!(matches!(decode_key(Some(b"")), Err(EventError::BadKey(_))));
        assert!(matches!(
            decode_key(Some(b"<script>")),
            Err(EventError::BadKey(_))
        ));
        assert!(matches!(
            decode_key(Some(&[0xff, 0xfe])),
            Err(EventError::BadKey(_))
        ));
    }
}
