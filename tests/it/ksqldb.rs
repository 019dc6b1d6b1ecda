//! ksqlDB: `run_me_first` submits the statements of `ksql/` to the `[ksqldb]` endpoint, and with
//! its persistent queries running (however they were created), each stage's status reaches
//! `pizza-status` exactly once. There is no ksqlDB on the test machine: a stand-in answers its
//! REST API, and a relay on the real broker does what the queries do, as the cluster sees them
//! (`harness/ksqldb_double.rs`).

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::domain::topics::Topic;
use pizza_tests::binaries::binary;
use pizza_tests::ksqldb_double::{query_group, KsqlDbDouble, Relay};
use pizza_tests::shop::ids;
use pizza_tests::topic_reader::statuses_by_order;
use pizza_tests::{Broker, Shop};

#[tokio::test(flavor = "multi_thread")]
async fn run_me_first_submits_the_streams_and_the_missing_queries() {
    let broker = Broker::start();
    let plain = Shop::open(&broker, &[]).await;
    // The query from pizza-ordered already runs: it must not be submitted twice.
    let ksqldb = KsqlDbDouble::start(&plain.sys.topics, &[Topic::Ordered]).await;
    let kafka = format!(
        "{}[ksqldb]\nendpoint = {}/\nusername = KEY\npassword = SECRET\n",
        broker.kafka_ini(),
        ksqldb.endpoint
    );
    let shop = Shop::open_with_kafka(&kafka, &[]).await;
    let output = Command::new(binary("run_me_first"))
        .arg(&shop.kafka_ini)
        .arg(&shop.sys_ini)
        .current_dir(shop.path())
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let received = ksqldb.received();
    let statements: Vec<&str> = received.iter().map(|r| r.statement()).collect();
    assert_eq!(
        statements.len(),
        6,
        "streams, SHOW QUERIES, four queries: {statements:#?}"
    );
    for stream in [
        "PIZZA_ORDERED",
        "PIZZA_ASSEMBLED",
        "PIZZA_BAKED",
        "PIZZA_DELIVERED",
        "PIZZA_PENDING",
        "PIZZA_STATUS",
    ] {
        assert!(
            statements[0].contains(&format!("CREATE STREAM IF NOT EXISTS {stream} (")),
            "{stream}"
        );
    }
    assert!(!statements[0].contains("--"), "comments are not sent");
    assert_eq!(statements[1], "SHOW QUERIES;");
    for (statement, source) in statements[2..].iter().zip([
        "PIZZA_ASSEMBLED",
        "PIZZA_BAKED",
        "PIZZA_DELIVERED",
        "PIZZA_PENDING",
    ]) {
        assert_eq!(
            *statement,
            format!("INSERT INTO PIZZA_STATUS SELECT order_id, status, timestamp FROM {source} EMIT CHANGES;")
        );
    }
    for request in &received {
        // "KEY:SECRET" in base64.
        assert_eq!(request.headers["authorization"], "Basic S0VZOlNFQ1JFVA==");
        assert_eq!(request.headers["accept"], "application/vnd.ksql.v1+json");
        // The queries read their topics from the beginning, as the original's did.
        assert_eq!(
            request.body["streamsProperties"]["ksql.streams.auto.offset.reset"],
            "earliest"
        );
    }
}

/// The guide as written: the queries are created by hand in ksqlDB's editor (step 9) before
/// the services start (step 10), and `[ksqldb]` stays commented out. Each service sees on the
/// cluster which of its stages a query copies, leaves those statuses to it, and writes the rest:
/// each status reaches `pizza-status` once, from the first order on.
#[tokio::test(flavor = "multi_thread")]
async fn queries_created_by_hand_are_seen_on_the_cluster_and_each_status_arrives_once() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    assert!(
        shop.kafka.ksqldb.is_none(),
        "no [ksqldb] section, as the guide leaves it"
    );
    // ksqlDB copies the statuses of three stages; the services must write the other two.
    let derived = [Topic::Ordered, Topic::Baked, Topic::Delivered];
    let relay = Relay::start(&shop.kafka, &shop.sys.topics, &derived);
    let mut services = shop.start_pipeline();
    services[2]
        .wait_for_log(&leaves_it(Topic::Baked), Duration::from_secs(30))
        .await;
    services[1]
        .wait_for_log(&leaves_it(Topic::Delivered), Duration::from_secs(30))
        .await;
    let producer = shop.producer().await;
    let orders = ids("c5a1", 10);
    for id in &orders {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&orders, 999, Duration::from_secs(60))
        .await;
    for service in &mut services {
        assert!(service.terminate().0.success());
    }
    assert!(
        !services[3].log().contains("ksqlDB's persistent query"),
        "assemble writes its statuses: no query copies pizza-assembled"
    );
    assert_eq!(
        services[2].log().matches("copies the statuses of").count(),
        1,
        "said once"
    );
    // Every copied event has been copied once the relay has copied three per order.
    let by_order = statuses_once_copied(&shop, &orders, 4).await;
    assert_eq!(relay.stop(), orders.len() * 3, "100, 300 and 999 of each");
    for id in &orders {
        assert_eq!(
            by_order[id],
            [100, 200, 300, 999],
            "each status of {id} exactly once"
        );
    }
}

/// A participant drops the queries while orders are in the kitchen: the services notice, write
/// the statuses again, and write those of the events the queries had not copied yet, so every
/// status of every order reaches `pizza-status`.
#[tokio::test(flavor = "multi_thread")]
async fn when_the_queries_are_dropped_no_status_is_lost() {
    let broker = Broker::start();
    // A quarter of real time, so orders are in the oven when the queries go.
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "0.25")]).await;
    let relay = Relay::start(&shop.kafka, &shop.sys.topics, &Topic::STAGES);
    let services = shop.start_pipeline();
    services[2]
        .wait_for_log(&leaves_it(Topic::Baked), Duration::from_secs(30))
        .await;
    let producer = shop.producer().await;
    let before = ids("d40b", 10);
    for id in &before {
        shop.place_order(&producer, id).await;
    }
    // Dropped once the kitchen has started on some of them (the view shows their progress).
    let in_flight = shop
        .wait_for_in_flight(&before, Duration::from_secs(30))
        .await;
    let copied = relay.stop();
    assert!(
        copied > 0 && in_flight > 0,
        "copied {copied}, {in_flight} in flight"
    );
    services[2]
        .wait_for_log(
            "no longer copies the statuses of pizza-baked",
            Duration::from_secs(30),
        )
        .await;
    let after = ids("d40a", 5);
    for id in &after {
        shop.place_order(&producer, id).await;
    }
    let all: Vec<String> = before.iter().chain(&after).cloned().collect();
    shop.wait_for_all(&all, 999, Duration::from_secs(120)).await;
    let by_order = statuses_by_order(&shop.kafka, &shop.sys.topics.status);
    for id in &before {
        let mut seen = by_order[id].clone();
        seen.dedup();
        assert_eq!(
            seen,
            [100, 200, 300, 999],
            "every status of {id}, at least once"
        );
    }
    for id in &after {
        assert_eq!(
            by_order[id],
            [100, 200, 300, 999],
            "each status of {id} once, from the services"
        );
    }
}

/// What a service says when it leaves a stage's statuses to ksqlDB.
fn leaves_it(stage: Topic) -> String {
    format!(
        "query '{}' copies the statuses of {}",
        query_group(stage),
        stage.default_name()
    )
}

/// `pizza-status` by order, once it holds `per_order` statuses of each of `orders`.
async fn statuses_once_copied(
    shop: &Shop,
    orders: &[String],
    per_order: usize,
) -> HashMap<String, Vec<i64>> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let by_order = statuses_by_order(&shop.kafka, &shop.sys.topics.status);
        let seen: usize = orders
            .iter()
            .map(|id| by_order.get(id).map_or(0, Vec::len))
            .sum();
        if seen >= orders.len() * per_order {
            return by_order;
        }
        assert!(std::time::Instant::now() < deadline, "{by_order:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
