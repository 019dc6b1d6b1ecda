//! Every parser that reads outside input is fed arbitrary input: it may refuse it, never panic.
//! Events come from any producer on the cluster, ini files from any editor.

use std::path::Path;

use common::events::{decode, decode_key, PizzaAssembled, PizzaOrdered};
use common::settings::IniFile;
use common::status::StatusAt;
use proptest::prelude::*;
use serde_json::{json, Value};

/// JSON built from the field names the events use, with values of any type, so the fuzzer
/// reaches the type checks instead of stopping at the first syntax error.
fn event_like() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    let fields = prop_oneof![
        Just("status"),
        Just("STATUS"),
        Just("timestamp"),
        Just("TIMESTAMP"),
        Just("baking_time"),
        Just("order"),
        Just("extra_toppings"),
        Just("customer_id"),
        Just("username"),
        Just("name"),
        Just("sauce"),
        Just("cheese"),
        Just("main_topping"),
    ];
    leaf.prop_recursive(3, 32, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(fields.clone().prop_map(str::to_owned), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn decode_all(bytes: &[u8]) {
    let _ = decode::<PizzaOrdered>(Some(bytes));
    let _ = decode::<PizzaAssembled>(Some(bytes));
    let _ = decode::<StatusAt>(Some(bytes));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn event_values_of_any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        decode_all(&bytes);
    }

    #[test]
    fn event_values_of_any_shape_never_panic(value in event_like()) {
        decode_all(value.to_string().as_bytes());
    }

    #[test]
    fn a_valid_event_with_unknown_fields_still_decodes(
        extra in prop::collection::btree_map("[a-z_]{1,12}", ".{0,12}", 0..5)
    ) {
        let mut event = json!({"status": 300, "timestamp": 1_700_000_000_000_i64});
        for (key, value) in extra {
            if key != "status" && key != "timestamp" {
                event[key] = Value::from(value);
            }
        }
        let decoded = decode::<StatusAt>(Some(event.to_string().as_bytes()));
        prop_assert_eq!(decoded.map(|e| e.status), Ok(300));
    }

    #[test]
    fn keys_of_any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(id) = decode_key(Some(&bytes)) {
            prop_assert!(!id.is_empty() && id.len() <= 64);
        }
    }

    #[test]
    fn ini_text_of_any_shape_never_panics(
        text in "(\\[[a-z-]{0,8}\\]?\n|[a-z. ]{0,8}=?[ -~]{0,12}\n|[ \t]+[ -~]{0,10}\n|[#;].{0,8}\n){0,12}"
    ) {
        if let Ok(ini) = IniFile::parse(Path::new("fuzz.ini"), &text) {
            let _ = ini.list("kafka", "bootstrap.servers");
            let _ = ini.checked::<u32>("kafka-topic-config", "num_partitions", "a number", |_| true);
            let _ = ini.checked_or("simulation", "time_scale", 1.0, "a number", |_: &f64| true);
            let _ = ini.optional("webapp", "bind");
            let _ = common::settings::SysSettings::from_ini(&ini);
        }
    }
}
