//! The original demo's configuration files, as its workshop's participants have them
//! (`tests/original-config/`), run the shop end to end: its `default.ini` byte for byte, and its
//! `localhost.ini` with only the broker's port changed to this test's broker. Its `[ksqldb]`
//! endpoint (localhost:8088) does not answer here, so the services write the statuses.

use std::process::Command;
use std::time::Duration;

use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use pizza_tests::binaries::{binary, workspace_root};
use pizza_tests::shop::{ids, KITCHEN};
use pizza_tests::topic_reader::statuses_by_order;
use pizza_tests::{Broker, Shop};

fn original(file: &str) -> String {
    std::fs::read_to_string(workspace_root().join("tests/original-config").join(file))
        .expect("the original's file")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_originals_files_run_the_shop_end_to_end() {
    let broker = Broker::start();
    let kafka =
        original("config_kafka/localhost.ini").replace("localhost:9092", &broker.bootstrap());
    assert!(
        kafka.contains(&broker.bootstrap()),
        "the original names localhost:9092"
    );
    let shop = Shop::open_with_files(&kafka, &original("config_sys/default.ini"), &[]).await;
    assert_eq!(
        std::fs::read_to_string(&shop.sys_ini).expect("sys.ini"),
        original("config_sys/default.ini"),
        "the original's default.ini, byte for byte"
    );

    // run_me_first keeps the topics (the harness made them) and says the single local broker
    // cannot hold the original's replication factor of 3.
    let setup = Command::new(binary("run_me_first"))
        .arg(&shop.kafka_ini)
        .arg(&shop.sys_ini)
        .current_dir(shop.path())
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&setup.stdout);
    assert!(setup.status.success(), "{said}");
    assert!(said.contains("fewer than [kafka-topic-config] replication_factor = 3: topics are created with replication factor 1"), "{said}");
    // The original's lines: the topic existed (the services' first start created it).
    assert!(
        said.contains("Creating topic pizza_ordered as 'pizza-ordered' with 1 partition(s) and replication factor 3...")
            && said.contains("Topic already exists!"),
        "{said}"
    );
    assert!(
        said.contains("ksqlDB at http://localhost:8088 does not answer"),
        "{said}"
    );

    let mut services = shop.start_pipeline();
    // The services look for ksqlDB's queries on the cluster, not at the endpoint the file names
    // (which does not answer here), and find none: each writes its own statuses.
    for service in &services {
        service
            .wait_for_log("Partitions assigned", Duration::from_secs(30))
            .await;
        assert!(!service.log().contains("8088"), "{}", service.log());
    }
    let producer = shop.producer().await;
    // The original's own speed: about half a minute per order, so three side by side.
    let orders = ids("0219", 3);
    for id in &orders {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&orders, 999, Duration::from_secs(120))
        .await;
    for service in &mut services {
        assert!(service.terminate().0.success());
    }

    let statuses = statuses_by_order(&shop.kafka, &shop.sys.topics.status);
    for id in &orders {
        assert_eq!(statuses[id], [100, 200, 300, 999], "{id}");
    }
    // The original's labels and wording in the services' lines.
    let status_log = services[KITCHEN
        .iter()
        .position(|s| *s == ServiceName::Status)
        .unwrap_or(0)]
    .log();
    let first = &orders[0];
    for line in [
        format!("Order '{first}' status updated: Your pizza is in the oven (200)"),
        format!("Order '{first}' status updated: Your pizza is out for delivery (300)"),
        format!("Order '{first}' status updated: Your pizza was delivered (999)"),
    ] {
        assert!(status_log.contains(&line), "{line}\n{status_log}");
    }
    // The SQLite files are where the original's file says: in the folder the services run in.
    assert!(shop.path().join("orders.db").is_file());
    assert!(shop.path().join("delivery.db").is_file());
}

/// The guide's step 5 creates six topics by hand and no dead-letter topic: every service still
/// starts, and the first that needs it creates it.
#[tokio::test(flavor = "multi_thread")]
async fn with_only_the_guides_six_topics_every_service_starts() {
    let broker = Broker::start();
    let kafka = format!("[kafka]\nbootstrap.servers = {}\n", broker.bootstrap());
    let six = &Topic::ALL[..6];
    assert!(!six.contains(&Topic::DeadLetter));
    let sys = original("config_sys/default.ini");
    let shop =
        Shop::open_with_topics(&kafka, &sys, &[("simulation", "time_scale", "0")], six).await;
    let services = shop.start_pipeline();
    for service in &services {
        service
            .wait_for_log("Subscribed to topic(s)", Duration::from_secs(30))
            .await;
    }
    let creators = services
        .iter()
        .filter(|s| {
            s.log()
                .contains("Topic 'pizza-dead-letter' created for dead letters")
        })
        .count();
    assert_eq!(
        creators, 1,
        "the first service to start made the dead-letter topic"
    );
    let producer = shop.producer().await;
    shop.place_order(&producer, "51c70001").await;
    shop.wait_for_status("51c70001", 999, Duration::from_secs(60))
        .await
        .expect("delivered");
    // And the dead-letter topic now exists, with the configured partitions.
    let poison = producer
        .producer()
        .send(&shop.sys.topics.dead_letter, "x", b"{}", None)
        .await;
    assert!(poison.is_ok(), "{poison:?}");
}
