//! The contracts (schemas/, docs/contracts.md) on a real broker that enforces them, as
//! `./start_demo.sh` starts it:
//! - every example of the history, the original's exact output included, is taken;
//! - a value that breaks its topic's contract is refused whoever writes it, and
//!   `target/release/produce` (the README's lesson) names the rule and keeps it as a dead
//!   letter, with the shop running on;
//! - a broker stricter than the programs' copy refuses a batch: the events batched with the
//!   refused one land all the same, and a kitchen service dead-letters what it was handling with
//!   reason `contract` and goes on.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::contracts::Contracts;
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{producer_config, EventProducer, ProduceError};
use common::metrics::CaughtBy;
use pizza_tests::binaries::binary;
use pizza_tests::broker::shop_schemas;
use pizza_tests::loadgen::{Customer, Failure};
use pizza_tests::shop::ids;
use pizza_tests::topic_reader::{read_all, read_until, Record};
use pizza_tests::{Broker, Shop};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(30);

/// Writes `value` to `topic` with a plain producer, one event a request: the broker's answer.
async fn write(shop: &Shop, topic: &str, key: &str, value: &[u8]) -> Result<(), String> {
    let producer: FutureProducer = producer_config(&shop.kafka, "pizza-tests-plain")
        .set("enable.idempotence", "false")
        .create()
        .expect("producer");
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(value),
            Duration::from_secs(10),
        )
        .await
        .map(drop)
        .map_err(|(error, _)| error.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_example_of_the_history_is_taken_and_broken_values_are_refused() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let mut written = 0;
    for topic in Topic::ALL.into_iter().filter(|t| *t != Topic::DeadLetter) {
        let name = shop.sys.topics.name(topic).to_owned();
        let folder = shop_schemas().join("examples").join(topic.default_name());
        for entry in std::fs::read_dir(&folder).expect("examples") {
            let path = entry.expect("an example").path();
            let value = std::fs::read(&path).expect("readable");
            let taken = write(&shop, &name, "a1b2c3d4", &value).await;
            assert_eq!(taken, Ok(()), "{} was refused", path.display());
            written += 1;
        }
    }
    assert!(written >= 12, "only {written} examples");

    let broken: [(&str, &[u8]); 7] = [
        (&shop.sys.topics.baked, br#"{"status": "baked", "timestamp": 1}"#),
        (&shop.sys.topics.baked, br#"{"status": 300}"#),
        (&shop.sys.topics.baked, br#"{"status": 300.0, "timestamp": 1}"#),
        (&shop.sys.topics.baked, b"baked!"),
        (
            &shop.sys.topics.assembled,
            br#"{"status": 200, "baking_time": 99999, "timestamp": 1}"#,
        ),
        (
            &shop.sys.topics.status,
            br#"{"status": 200, "TIMESTAMP": 1}"#,
        ),
        (
            &shop.sys.topics.ordered,
            br#"{"status": 100, "timestamp": 1, "order": {"customer_id": "not hex", "username": "u", "sauce": "s", "cheese": "c", "main_topping": "m", "extra_toppings": []}}"#,
        ),
    ];
    for (topic, value) in broken {
        let refused = write(&shop, topic, "a1b2c3d4", value).await;
        let shown = String::from_utf8_lossy(value);
        let error = refused.expect_err(&format!("{topic} took {shown}"));
        assert!(error.contains("InvalidRecord"), "{topic} {shown}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_event_from_the_command_line_is_refused_kept_and_the_shop_runs_on() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let _kitchen = shop.start_pipeline();
    let producer = shop.producer().await;

    let output = Command::new(binary("produce"))
        .args(["--key", "b0b0b0b0", "pizza-baked"])
        .arg(r#"{"status": "baked", "timestamp": 1}"#)
        .args([&shop.kafka_ini, &shop.sys_ini])
        .current_dir(shop.path())
        .output()
        .expect("produce runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "refused means exit 1:\n{said}"
    );
    assert!(
        said.contains(
            "Refused by the broker, as it breaks the contract of topic 'pizza-baked': \
             pizza-baked.json: /status: \"baked\" is not of type \"integer\""
        ),
        "{said}"
    );
    let kept = read_until(&shop.kafka, &shop.sys.topics.dead_letter, PATIENCE, |r| {
        !r.is_empty()
    });
    let [letter] = kept.as_slice() else {
        panic!("one dead letter: {kept:?}");
    };
    assert_eq!(letter.key.as_deref(), Some("b0b0b0b0"));
    assert_eq!(letter.value, br#"{"status": "baked", "timestamp": 1}"#);
    for (header, value) in [
        ("error.reason", "contract"),
        ("error.service", "produce"),
        ("error.topic", "pizza-baked"),
        ("error.contract", "pizza-baked"),
        ("error.caught_by", "broker"),
    ] {
        assert_eq!(letter.headers.get(header).map(String::as_str), Some(value));
    }
    assert!(read_all(&shop.kafka, &shop.sys.topics.baked).is_empty());

    // The shop never saw it, and goes on.
    shop.place_order(&producer, "0dd00001").await;
    shop.wait_for_status("0dd00001", 999, PATIENCE)
        .await
        .expect("an order after the refusal is delivered");

    let good = Command::new(binary("produce"))
        .args(["pizza-status", r#"{"status": 100, "timestamp": 1}"#])
        .args([&shop.kafka_ini, &shop.sys_ini])
        .current_dir(shop.path())
        .output()
        .expect("produce runs");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
}

/// The shop's schemas, with `topic`'s value made stricter by `rule` (a JSON Schema every value
/// must also meet): a broker whose contract is ahead of the programs' copy.
fn stricter(folder: &Path, topic: &str, rule: serde_json::Value) {
    std::fs::create_dir_all(folder).expect("folder");
    for entry in std::fs::read_dir(shop_schemas()).expect("schemas") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_name().expect("a name");
            std::fs::copy(&path, folder.join(name)).expect("copied");
        }
    }
    let file = folder.join(format!("{topic}.json"));
    let mut schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("schema")).expect("JSON");
    schema["properties"]["value"]["allOf"] = serde_json::json!([rule]);
    std::fs::write(&file, schema.to_string()).expect("written");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_events_batched_with_one_a_stricter_broker_refuses_land_all_the_same() {
    let folder = tempfile::tempdir().expect("folder");
    stricter(
        folder.path(),
        "pizza-baked",
        serde_json::json!({"properties": {"timestamp": {"not": {"enum": [13]}}}}),
    );
    let broker = Broker::start_with_contracts(folder.path());
    let shop = Shop::open(&broker, &[("kafka-topic-config", "num_partitions", "1")]).await;
    let baked = shop.sys.topics.baked.clone();
    let mut config = producer_config(&shop.kafka, "pizza-tests-batched");
    // Long enough for all of them to go in one request.
    config.set("linger.ms", "200");
    let producer = EventProducer::connect(&config, &[&baked], &CancellationToken::new())
        .await
        .expect("producer")
        .bound_by(Contracts::shop().expect("contracts"), &shop.sys.topics);
    let keys = ids("ba7c", 20);
    let sends = keys.iter().enumerate().map(|(n, key)| {
        let (producer, baked) = (producer.clone(), baked.clone());
        let value = format!(r#"{{"status": 300, "timestamp": {}}}"#, n + 3);
        async move { producer.send(&baked, key, value.as_bytes(), None).await }
    });
    let results = futures::future::join_all(sends).await;
    for (n, result) in results.iter().enumerate() {
        if n + 3 == 13 {
            match result {
                Err(ProduceError::Contract { caught_by, .. }) => {
                    assert_eq!(*caught_by, CaughtBy::Broker);
                }
                other => panic!("timestamp 13 should be refused by the broker: {other:?}"),
            }
        } else {
            assert!(result.is_ok(), "event {n}: {result:?}");
        }
    }
    let on_topic: Vec<Record> = read_all(&shop.kafka, &baked);
    let mut landed: Vec<String> = on_topic.iter().filter_map(|r| r.key.clone()).collect();
    landed.sort();
    let mut expected: Vec<String> = keys
        .iter()
        .enumerate()
        .filter(|(n, _)| n + 3 != 13)
        .map(|(_, key)| key.clone())
        .collect();
    expected.sort();
    assert_eq!(
        landed, expected,
        "each of the others once, the refused one never"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kitchen_service_dead_letters_what_it_was_handling_when_its_event_is_refused() {
    let folder = tempfile::tempdir().expect("folder");
    // No pizza bakes for more than a second: every one assemble announces breaks it.
    stricter(
        folder.path(),
        "pizza-assembled",
        serde_json::json!({"properties": {"baking_time": {"maximum": 1}}}),
    );
    let broker = Broker::start_with_contracts(folder.path());
    let shop = Shop::open(&broker, &[]).await;
    let kitchen = shop.start_pipeline();
    let producer = shop.producer().await;
    let orders = ids("c0de", 3);
    for order in &orders {
        shop.place_order(&producer, order).await;
    }
    // Each order is marked "something went wrong", none is retried for ever, and the loop goes
    // on to the next.
    shop.wait_for_all(&orders, 430, PATIENCE).await;
    let letters = read_until(&shop.kafka, &shop.sys.topics.dead_letter, PATIENCE, |r| {
        r.len() >= orders.len()
    });
    assert_eq!(letters.len(), orders.len(), "{letters:?}");
    for letter in &letters {
        let header = |name: &str| letter.headers.get(name).map(String::as_str);
        assert_eq!(header("error.reason"), Some("contract"));
        assert_eq!(header("error.service"), Some("assemble"));
        assert_eq!(header("error.topic"), Some("pizza-ordered"));
        assert_eq!(header("error.contract"), Some("pizza-assembled"));
        assert_eq!(header("error.caught_by"), Some("broker"));
        assert!(
            header("error.rule").is_some_and(|rule| rule.starts_with("pizza-assembled.json: ")),
            "{:?}",
            letter.headers
        );
    }
    assert!(read_all(&shop.kafka, &shop.sys.topics.assembled).is_empty());
    let assemble = kitchen
        .iter()
        .find(|s| s.name == ServiceName::Assemble)
        .expect("assemble runs");
    let log = assemble.log();
    assert!(
        !log.contains("failed, retrying"),
        "a refusal is never retried:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_a_stricter_broker_refuses_gets_the_error_page_and_is_not_kept() {
    let folder = tempfile::tempdir().expect("folder");
    stricter(
        folder.path(),
        "pizza-ordered",
        serde_json::json!({"properties": {"order": {"properties": {"username": {"not": {"enum": ["Mallory"]}}}}}}),
    );
    let broker = Broker::start_with_contracts(folder.path());
    let shop = Shop::open(&broker, &[]).await;
    let webapp = shop.start(ServiceName::Webapp);
    let base = webapp.web_address().await;

    let mallory = Customer::login(&base, "Mallory").await.expect("logged in");
    match mallory.order().await {
        Err(Failure::Server(status, _)) => assert_eq!(status.as_u16(), 500),
        other => panic!("Mallory's order should be refused: {other:?}"),
    }
    let orders = mallory.page("/orders").await.expect("My Orders");
    assert!(
        !orders.contains("<a href=\"/orders/"),
        "an order was kept:\n{orders}"
    );

    let alice = Customer::login(&base, "Alice").await.expect("logged in");
    let order = alice.order().await.expect("Alice's order is placed");
    let on_topic = read_until(&shop.kafka, &shop.sys.topics.ordered, PATIENCE, |r| {
        !r.is_empty()
    });
    let keys: Vec<Option<String>> = on_topic.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys, [Some(order)], "only Alice's order reached the topic");
    let log = webapp.log();
    let said: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert_eq!(said.len(), 1, "one error line for the refusal:\n{log}");
    assert!(
        said[0].contains("breaks the contract of topic 'pizza-ordered' (broker)"),
        "{}",
        said[0]
    );
}
