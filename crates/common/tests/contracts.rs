//! The contracts in `schemas/` and the Rust event types agree, both ways, and the contracts stay
//! compatible with the history (docs/contracts.md):
//! - every value the shop writes meets its topic's contract (the handlers' tests check what they
//!   send through `RecordingSink`, which checks as the producer does; here, every value the
//!   event types can hold), and the previous version of the contract, kept in
//!   `schemas/previous/`, for consumers not yet upgraded;
//! - every value a contract accepts decodes into the type its consumers read;
//! - every example in `schemas/examples/` (the original's exact output, ours, and every earlier
//!   shape) meets today's contract and decodes: new consumers read the whole history.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::contracts::{Contract, Contracts};
use common::domain::events::{
    decode, python_json, OrderDetails, Pizza, PizzaAssembled, PizzaOrdered,
};
use common::domain::status::{StatusAt, StatusEvent, StatusWritten};
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use proptest::prelude::*;
use serde_json::{json, Value};
use support::{check, event_like, Reached};

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn shop() -> &'static Contracts {
    Contracts::shop().expect("the repository's contracts compile")
}

fn contract(topic: Topic) -> &'static Contract {
    shop()
        .of_topic(topic)
        .expect("every stage topic has a contract")
}

/// The topics with a contract, by the name their files have.
fn topics() -> impl Iterator<Item = Topic> {
    Topic::ALL
        .into_iter()
        .filter(|topic| *topic != Topic::DeadLetter)
}

/// Decodes `payload` as the consumers of `topic` read it.
fn decodes(topic: Topic, payload: &[u8]) -> Result<(), String> {
    let decoded = match topic {
        Topic::Ordered => decode::<PizzaOrdered>(Some(payload)).map(drop),
        Topic::Assembled => decode::<PizzaAssembled>(Some(payload)).map(drop),
        Topic::Baked | Topic::Delivered | Topic::Pending => {
            decode::<StatusAt>(Some(payload)).map(drop)
        }
        Topic::Status => decode::<StatusEvent>(Some(payload)).map(drop),
        Topic::DeadLetter => Ok(()),
    };
    decoded.map_err(|e| e.to_string())
}

/// Every example of the corpus, by topic: file name and exact bytes.
fn examples() -> BTreeMap<Topic, Vec<(String, Vec<u8>)>> {
    let mut found = BTreeMap::new();
    for topic in topics() {
        let folder = schemas().join("examples").join(topic.default_name());
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .map(|entry| {
                let path = entry.expect("an example").path();
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let bytes = std::fs::read(&path).expect("readable example");
                (name, bytes)
            })
            .collect();
        files.sort();
        found.insert(topic, files);
    }
    found
}

#[test]
fn every_example_of_the_history_meets_todays_contract_and_decodes() {
    for (topic, files) in examples() {
        assert!(
            files.iter().any(|(name, _)| name.starts_with("ours")),
            "{topic:?}: no example of what the shop writes"
        );
        let by_others = files
            .iter()
            .any(|(name, _)| name.starts_with("original") || name.starts_with("ksqldb"));
        assert!(by_others, "{topic:?}: no example of the original's output");
        for (name, bytes) in files {
            let shown = format!("{}/{name}", topic.default_name());
            assert!(!bytes.ends_with(b"\n"), "{shown}: a value has no newline");
            if let Err(violation) = contract(topic).check_payload(&bytes) {
                panic!("{shown} breaks today's contract: {violation}");
            }
            if let Err(error) = decodes(topic, &bytes) {
                panic!("{shown} does not decode: {error}");
            }
        }
    }
}

/// A value as the shop's producers write it.
fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    python_json::to_vec(value).expect("serialises")
}

/// One of each thing the shop writes, with fixed times and ids.
fn what_the_shop_writes() -> Vec<(Topic, &'static str, Vec<u8>)> {
    let ordered = PizzaOrdered {
        status: 100,
        timestamp: 1_767_225_600_000,
        order: OrderDetails {
            customer_id: "3b0c4d1e2f3a4b5c6d7e8f9a0b1c2d3e".into(),
            username: "Italo".into(),
            pizza: Pizza {
                sauce: "Tomato".into(),
                cheese: "Mozzarella".into(),
                main_topping: "Pepperoni".into(),
                extra_toppings: vec!["Mushroom".into(), "Black olives".into()],
            },
        },
    };
    let at = |status, timestamp| StatusAt { status, timestamp };
    vec![
        (Topic::Ordered, "ours.json", json(&ordered)),
        (
            Topic::Assembled,
            "ours.json",
            json(&PizzaAssembled {
                status: 200,
                baking_time: 12,
                timestamp: 1_767_225_604_000,
            }),
        ),
        (Topic::Baked, "ours.json", json(&at(300, 1_767_225_616_000))),
        (
            Topic::Delivered,
            "ours.json",
            json(&at(999, 1_767_225_623_000)),
        ),
        (
            Topic::Pending,
            "ours.json",
            json(&at(150, 1_767_225_616_100)),
        ),
        (
            Topic::Status,
            "ours.json",
            json(&StatusWritten::new(
                at(200, 1_767_225_604_000),
                ServiceName::Assemble,
            )),
        ),
        (
            Topic::Status,
            "ours-something-wrong.json",
            json(&StatusWritten::new(
                at(430, 1_767_225_604_500),
                ServiceName::Bake,
            )),
        ),
    ]
}

#[test]
fn what_the_shop_writes_today_is_in_the_corpus() {
    for (topic, name, bytes) in what_the_shop_writes() {
        let path = schemas()
            .join("examples")
            .join(topic.default_name())
            .join(name);
        let kept = std::fs::read(&path).unwrap_or_default();
        assert!(
            kept == bytes,
            "{} is not what the shop writes today:\n  kept:  {}\n  today: {}\n\
             When a value's shape changes, keep the old file under another name (the history \
             keeps it) and write the new one as {name}.",
            path.display(),
            String::from_utf8_lossy(&kept),
            String::from_utf8_lossy(&bytes)
        );
    }
}

/// The previous version of each contract that has one (`schemas/previous/<topic>.json`).
fn previous_contracts() -> Vec<Contract> {
    Contracts::load_some(&schemas().join("previous"))
        .unwrap_or_else(|error| panic!("every previous contract compiles: {error}"))
}

#[test]
fn what_the_shop_writes_today_meets_the_previous_contracts_too() {
    let previous = previous_contracts();
    for contract in &previous {
        let topic = contract.topic;
        assert!(
            contract.version() < self::contract(topic).version(),
            "{}: the previous version must be older than today's",
            contract.file
        );
        for (written, name, bytes) in what_the_shop_writes() {
            if written == topic {
                if let Err(violation) = contract.check_payload(&bytes) {
                    panic!(
                        "consumers still on version {} would refuse {name}: {violation}",
                        contract.version()
                    );
                }
            }
        }
    }
}

/// Values the event types can hold, within what their producers put in them: hexadecimal
/// customer ids (the web app makes them), 32-bit statuses (`[status-id]`), times since 1970,
/// bakes of at most an hour.
fn shop_values() -> impl Strategy<Value = (Topic, Vec<u8>)> {
    let status = any::<i32>().prop_map(i64::from);
    let time = 0..=9_007_199_254_740_991_i64;
    let at = (status.clone(), time.clone())
        .prop_map(|(status, timestamp)| StatusAt { status, timestamp });
    let text = ".{0,24}";
    let ordered = (
        status.clone(),
        time.clone(),
        "[0-9a-fA-F]{1,40}",
        text,
        (text, text, text, prop::collection::vec(text, 0..4)),
    )
        .prop_map(
            |(status, timestamp, customer_id, username, (sauce, cheese, main, extras))| {
                PizzaOrdered {
                    status,
                    timestamp,
                    order: OrderDetails {
                        customer_id,
                        username,
                        pizza: Pizza {
                            sauce,
                            cheese,
                            main_topping: main,
                            extra_toppings: extras,
                        },
                    },
                }
            },
        );
    let assembled =
        (status, 0..=3_600_u64, time).prop_map(|(status, baking_time, timestamp)| PizzaAssembled {
            status,
            baking_time,
            timestamp,
        });
    prop_oneof![
        ordered.prop_map(|v| (Topic::Ordered, json(&v))),
        assembled.prop_map(|v| (Topic::Assembled, json(&v))),
        (
            prop_oneof![
                Just(Topic::Baked),
                Just(Topic::Delivered),
                Just(Topic::Pending)
            ],
            at.clone()
        )
            .prop_map(|(topic, v)| (topic, json(&v))),
        (at, prop::sample::select(ServiceName::ALL.to_vec()))
            .prop_map(|(v, writer)| (Topic::Status, json(&StatusWritten::new(v, writer)))),
    ]
}

#[test]
fn every_value_the_shop_can_write_meets_its_contract_and_the_previous_one() {
    let previous = previous_contracts();
    check(2000, shop_values(), |(topic, bytes)| {
        let checked = contract(topic).check_payload(&bytes);
        prop_assert!(checked.is_ok(), "{checked:?}");
        for older in previous.iter().filter(|c| c.topic == topic) {
            let checked = older.check_payload(&bytes);
            prop_assert!(checked.is_ok(), "version {}: {checked:?}", older.version());
        }
        Ok(())
    });
}

/// A valid value of `topic` with one field removed, retyped or added, so the contract's
/// answers on both sides are reached.
fn near_valid() -> impl Strategy<Value = (Topic, Value)> {
    let base = prop_oneof![
        Just((
            Topic::Ordered,
            json!({"status": 100, "timestamp": 1, "order": {"customer_id": "ab12",
                "username": "u", "sauce": "s", "cheese": "c", "main_topping": "m",
                "extra_toppings": ["e"]}})
        )),
        Just((
            Topic::Ordered,
            json!({"status": 100, "timestamp": 1, "order": {"customer_id": "ab12",
                "name": "u", "sauce": "s", "cheese": "c", "main_topping": "m",
                "extra_toppings": []}})
        )),
        Just((
            Topic::Assembled,
            json!({"status": 200, "baking_time": 9, "timestamp": 1})
        )),
        Just((Topic::Baked, json!({"status": 300, "timestamp": 1}))),
        Just((Topic::Status, json!({"status": 300, "timestamp": 1}))),
        Just((
            Topic::Status,
            json!({"status": 300, "timestamp": 1, "written_by": "bake"})
        )),
        Just((Topic::Status, json!({"STATUS": 300, "TIMESTAMP": 1}))),
    ];
    let names = prop_oneof![
        Just("status"),
        Just("STATUS"),
        Just("timestamp"),
        Just("TIMESTAMP"),
        Just("baking_time"),
        Just("order"),
        Just("customer_id"),
        Just("username"),
        Just("name"),
        Just("extra_toppings"),
        Just("sauce"),
        Just("written_by"),
    ];
    (base, names, prop::option::of(event_like()), any::<bool>()).prop_map(
        |((topic, mut value), name, replacement, inside_order)| {
            let target = if inside_order && value.get("order").is_some() {
                &mut value["order"]
            } else {
                &mut value
            };
            if let Some(object) = target.as_object_mut() {
                match replacement {
                    Some(replacement) => object.insert(name.to_owned(), replacement),
                    None => object.remove(name),
                };
            }
            (topic, value)
        },
    )
}

#[test]
fn every_value_a_contract_accepts_decodes_into_what_its_consumers_read() {
    let reached = Reached::default();
    let values = prop_oneof![
        3 => near_valid(),
        1 => (prop::sample::select(topics().collect::<Vec<_>>()), event_like()),
    ];
    check(5000, values, |(topic, value)| {
        let bytes = value.to_string().into_bytes();
        if contract(topic).check_value(&value).is_ok() {
            reached.hit("accepted");
            let decoded = decodes(topic, &bytes);
            prop_assert!(decoded.is_ok(), "{topic:?} {value}: {decoded:?}");
        } else {
            reached.hit("refused");
        }
        Ok(())
    });
    reached.assert_each(&["accepted", "refused"]);
}

/// What a contract file says of its topic's writers and readers (`x-written-by`, `x-read-by`).
fn said(contract: &Contract, key: &str) -> Vec<String> {
    let mut names: Vec<String> = contract.schema[key]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no {key}", contract.file))
        .iter()
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn each_contract_names_the_programs_the_wiring_has_write_and_read_it() {
    for topic in topics() {
        let names = |services: Vec<ServiceName>| -> Vec<String> {
            services
                .into_iter()
                .map(|s| s.as_str().to_owned())
                .collect()
        };
        let mut writers = names(ServiceName::writers(topic));
        writers.sort();
        let mut readers = names(ServiceName::readers(topic));
        readers.sort();
        let contract = contract(topic);
        assert_eq!(said(contract, "x-written-by"), writers, "{}", contract.file);
        assert_eq!(said(contract, "x-read-by"), readers, "{}", contract.file);
    }
}
