//! ksqlDB: `run_me_first` submits the statements of `ksql/` to the `[ksqldb]` endpoint, and with
//! its persistent queries running, each stage's status reaches `pizza-status` exactly once.
//! There is no ksqlDB on the test machine: a stand-in answers its REST API, and a relay on the
//! real broker does what the queries do (`harness/ksqldb_double.rs`).

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::settings::Topic;
use pizza_tests::binaries::binary;
use pizza_tests::ksqldb_double::{KsqlDbDouble, Relay};
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

#[tokio::test(flavor = "multi_thread")]
async fn with_some_stages_derived_by_ksqldb_each_status_arrives_once() {
    let broker = Broker::start();
    let plain = Shop::open(&broker, &[]).await;
    // ksqlDB copies the statuses of two stages; the services must write the other three.
    let derived = [Topic::Ordered, Topic::Baked];
    let ksqldb = KsqlDbDouble::start(&plain.sys.topics, &derived).await;
    let kafka = format!(
        "{}[ksqldb]\nendpoint = {}\n",
        broker.kafka_ini(),
        ksqldb.endpoint
    );
    let shop = Shop::open_with_kafka(&kafka, &[]).await;
    let relay = Relay::start(&shop.kafka, &shop.sys.topics, &derived);
    let mut services = shop.start_pipeline();
    for service in &services {
        service
            .wait_for_log(
                "copies the statuses of pizza-ordered, pizza-baked",
                Duration::from_secs(30),
            )
            .await;
    }
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
    // Every ordered and baked event has been copied once the relay has copied one per order each.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut by_order = HashMap::new();
    while by_order.values().map(Vec::len).sum::<usize>() < orders.len() * 4 {
        assert!(std::time::Instant::now() < deadline, "{by_order:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        by_order = statuses_by_order(&shop.kafka, &shop.sys.topics.status);
    }
    assert_eq!(
        relay.stop(),
        orders.len() * 2,
        "the relay copied 100 and 300 of each"
    );
    for id in &orders {
        assert_eq!(
            by_order[id],
            [100, 200, 300, 999],
            "each status of {id} exactly once"
        );
    }
}
