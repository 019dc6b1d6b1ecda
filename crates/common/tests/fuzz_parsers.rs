//! Every parser that reads outside input is fed arbitrary input: it may refuse it, never panic.
//! Events come from any producer on the cluster, ini files from any editor.

mod support;

use std::path::Path;

use common::domain::events::{decode, decode_key, PizzaAssembled, PizzaOrdered};
use common::domain::status::{StatusAt, StatusEvent};
use common::settings::IniFile;
use proptest::prelude::*;
use serde_json::{json, Value};
use support::{check, event_like, Reached};

/// Decodes as every event type; says whether any type took it.
fn decode_all(bytes: &[u8]) -> bool {
    let ordered = decode::<PizzaOrdered>(Some(bytes)).is_ok();
    let assembled = decode::<PizzaAssembled>(Some(bytes)).is_ok();
    let status = decode::<StatusAt>(Some(bytes)).is_ok();
    let status_event = decode::<StatusEvent>(Some(bytes)).is_ok();
    ordered || assembled || status || status_event
}

fn decoded_or_refused(reached: &Reached, bytes: &[u8]) {
    reached.hit(if decode_all(bytes) {
        "decoded"
    } else {
        "refused"
    });
}

/// Bytes that are valid JSON events some of the time, anything otherwise.
fn event_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..256),
        1 => (any::<i64>(), any::<i64>())
            .prop_map(|(s, t)| json!({"status": s, "timestamp": t}).to_string().into_bytes()),
    ]
}

#[test]
fn event_values_of_any_bytes_never_panic() {
    let reached = Reached::default();
    check(2000, event_bytes(), |bytes| {
        decoded_or_refused(&reached, &bytes);
        Ok(())
    });
    reached.assert_each(&["decoded", "refused"]);
}

#[test]
fn event_values_of_any_shape_never_panic() {
    let reached = Reached::default();
    let shapes = prop_oneof![
        3 => event_like(),
        1 => (any::<i64>(), any::<i64>()).prop_map(|(s, t)| json!({"STATUS": s, "TIMESTAMP": t})),
    ];
    check(2000, shapes, |value| {
        decoded_or_refused(&reached, value.to_string().as_bytes());
        Ok(())
    });
    reached.assert_each(&["decoded", "refused"]);
}

#[test]
fn a_valid_event_with_unknown_fields_still_decodes() {
    let extras = prop::collection::btree_map("[a-z_]{1,12}", ".{0,12}", 0..5);
    check(2000, extras, |extra| {
        let mut event = json!({"status": 300, "timestamp": 1_700_000_000_000_i64});
        for (key, value) in extra {
            if key != "status" && key != "timestamp" {
                event[key] = Value::from(value);
            }
        }
        let decoded = decode::<StatusAt>(Some(event.to_string().as_bytes()));
        prop_assert_eq!(decoded.map(|e| e.status), Ok(300));
        Ok(())
    });
}

#[test]
fn keys_of_any_bytes_never_panic() {
    let reached = Reached::default();
    let keys = prop_oneof![
        any::<Vec<u8>>(),
        "[0-9a-zA-Z_-]{1,70}".prop_map(String::into_bytes),
    ];
    check(2000, keys, |bytes| {
        match decode_key(Some(&bytes)) {
            Ok(id) => {
                prop_assert!(!id.is_empty() && id.len() <= 64);
                reached.hit("an order id");
            }
            Err(_) => reached.hit("refused"),
        }
        Ok(())
    });
    reached.assert_each(&["an order id", "refused"]);
}

#[test]
fn ini_text_of_any_shape_never_panics() {
    let reached = Reached::default();
    let text =
        "(\\[[a-z-]{0,8}\\]?\n|[a-z. ]{0,8}=?[ -~]{0,12}\n|[ \t]+[ -~]{0,10}\n|[#;].{0,8}\n){0,12}";
    check(2000, text, |text| {
        match IniFile::parse(Path::new("fuzz.ini"), &text) {
            Ok(ini) => {
                reached.hit("parsed");
                let _ = ini.list("kafka", "bootstrap.servers");
                let _ =
                    ini.checked::<u32>("kafka-topic-config", "num_partitions", "a number", |_| {
                        true
                    });
                let _ = ini.checked_or("simulation", "time_scale", 1.0, "a number", |_: &f64| true);
                let _ = ini.optional("webapp", "bind");
                let _ = common::settings::SysSettings::from_ini(&ini);
            }
            Err(_) => reached.hit("refused"),
        }
        Ok(())
    });
    reached.assert_each(&["parsed", "refused"]);
}
