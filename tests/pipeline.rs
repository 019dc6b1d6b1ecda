//! The event pipeline end to end: a real broker, the real binaries at time_scale 0, orders fed
//! the way the web app feeds them.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use common::events::{now_ms, StageReached};
use pizza_tests::shop::{ids, order_details};
use pizza_tests::topic_reader::{read_until, Record};
use pizza_tests::{Broker, Shop};

const PATIENCE: Duration = Duration::from_secs(60);

fn statuses_by_order(records: &[Record]) -> HashMap<String, Vec<i64>> {
    let mut by_order: HashMap<String, Vec<i64>> = HashMap::new();
    for record in records {
        let status = record.json()["status"].as_i64().unwrap_or_default();
        by_order
            .entry(record.key.clone().unwrap_or_default())
            .or_default()
            .push(status);
    }
    by_order
}

#[tokio::test(flavor = "multi_thread")]
async fn every_order_goes_through_each_stage_to_delivered_once() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let _services = shop.start_pipeline();
    let producer = shop.producer().await;
    let orders = ids("a1", 30);
    for id in &orders {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&orders, 999, PATIENCE).await;

    let statuses = read_until(&shop.kafka, &shop.sys.topics.status, PATIENCE, |r| {
        r.len() >= orders.len() * 4
    });
    let by_order = statuses_by_order(&statuses);
    for id in &orders {
        let seen: BTreeSet<i64> = by_order.get(id).into_iter().flatten().copied().collect();
        assert_eq!(
            seen,
            BTreeSet::from([100, 200, 300, 999]),
            "statuses of {id}"
        );
    }
    let delivered = read_until(
        &shop.kafka,
        &shop.sys.topics.delivered,
        Duration::from_secs(5),
        |r| r.len() > orders.len(),
    );
    assert_eq!(
        delivered.len(),
        orders.len(),
        "one pizza-delivered event per order"
    );

    // The assembled events carry the kitchen's baking time, 8 to 15 s.
    let assembled = read_until(&shop.kafka, &shop.sys.topics.assembled, PATIENCE, |r| {
        r.len() >= orders.len()
    });
    for record in &assembled {
        let baking = record.json()["baking_time"].as_i64().unwrap_or_default();
        assert!((8..=15).contains(&baking), "baking_time {baking}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn baked_before_the_early_warning_is_pending_then_delivered() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let _status = shop.start("status");
    let _delivery = shop.start("delivery");
    let producer = shop.producer().await;
    let id = "b0bed001";

    // Store the order but hold back its early warning: only the baked notice reaches delivery.
    let details = order_details(id);
    let order = common::store::NewOrder::placed(id, &details, now_ms(), 100);
    shop.orders().add_order(&order, now_ms()).expect("stored");
    let baked = StageReached {
        status: 300,
        timestamp: now_ms(),
    };
    producer
        .send_json(&shop.sys.topics.baked, id, &baked)
        .await
        .expect("baked");
    shop.wait_for_status(id, 150, PATIENCE)
        .await
        .expect("pending first");

    let ordered = common::events::PizzaOrdered {
        status: 100,
        timestamp: now_ms(),
        order: details,
    };
    producer
        .send_json(&shop.sys.topics.ordered, id, &ordered)
        .await
        .expect("ordered");
    shop.wait_for_status(id, 999, PATIENCE)
        .await
        .expect("then delivered");
    let pending = read_until(
        &shop.kafka,
        &shop.sys.topics.pending,
        Duration::from_secs(5),
        |r| !r.is_empty(),
    );
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].json()["status"], 150);
}

#[tokio::test(flavor = "multi_thread")]
async fn watchdog_flags_a_stalled_order_and_progress_clears_it() {
    let broker = Broker::start();
    // Checks every 0.6 s for orders without progress for 1.2 s.
    let shop = Shop::open(
        &broker,
        &[(
            "state-store-orders",
            "status_invalid_timeout_minutes",
            "0.02",
        )],
    )
    .await;
    let status = shop.start("status");
    let producer = shop.producer().await;
    // Only the status service runs: the kitchen never picks the order up.
    shop.place_order(&producer, "5ca1ab1e").await;
    shop.wait_for_status("5ca1ab1e", 50, PATIENCE)
        .await
        .expect("flagged stuck");
    status
        .wait_for_log("Order '5ca1ab1e' is stuck", Duration::from_secs(5))
        .await;

    let progress = StageReached {
        status: 200,
        timestamp: now_ms(),
    };
    producer
        .send_json(&shop.sys.topics.status, "5ca1ab1e", &progress)
        .await
        .expect("status");
    shop.wait_for_status("5ca1ab1e", 200, PATIENCE)
        .await
        .expect("progress replaces stuck");
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_events_are_dead_lettered_without_losing_the_events_behind_them() {
    let broker = Broker::start();
    // One partition, so the poison sits in front of the good orders.
    let shop = Shop::open(&broker, &[("kafka-topic-config", "num_partitions", "1")]).await;
    let producer = shop.producer().await;
    shop.place_order(&producer, "900d0001").await;
    let ordered = &shop.sys.topics.ordered;
    // A known order whose event is not JSON, an event without a key, one missing a field.
    shop.orders()
        .add_order(
            &common::store::NewOrder {
                order_id: "bad00001".into(),
                customer_id: "c0ffee".into(),
                username: "Eve".into(),
                timestamp: now_ms(),
                sauce: "Tomato".into(),
                cheese: "Cheddar".into(),
                main_topping: "Ham".into(),
                extra_toppings: vec![],
                status: 100,
            },
            now_ms(),
        )
        .expect("stored");
    producer
        .send(ordered, "bad00001", b"{not json", None)
        .await
        .expect("poison 1");
    let keyless = producer
        .enqueue(ordered, b"", br#"{"status":100}"#, None)
        .expect("poison 2");
    let _ = keyless.await;
    producer
        .send(
            ordered,
            "bad00002",
            br#"{"status":100,"timestamp":1}"#,
            None,
        )
        .await
        .expect("poison 3");
    let behind = ids("900d1", 5);
    for id in &behind {
        shop.place_order(&producer, id).await;
    }

    let _services = shop.start_pipeline();
    shop.wait_for_status("900d0001", 999, PATIENCE)
        .await
        .expect("the order in front");
    shop.wait_for_all(&behind, 999, PATIENCE).await;
    shop.wait_for_status("bad00001", 430, PATIENCE)
        .await
        .expect("known order marked something_wrong");

    // assemble and delivery both read pizza-ordered, so each dead-letters the three poisons.
    let dead = read_until(&shop.kafka, &shop.sys.topics.dead_letter, PATIENCE, |r| {
        r.len() >= 6
    });
    assert_eq!(
        dead.len(),
        6,
        "three poison events, dead-lettered by two services"
    );
    for record in &dead {
        assert!(!record.headers["error.reason"].is_empty());
        assert_eq!(record.headers["error.topic"], "pizza-ordered");
        assert!(record.headers.contains_key("error.offset"));
    }
    let services: BTreeSet<&str> = dead
        .iter()
        .map(|r| r.headers["error.service"].as_str())
        .collect();
    assert_eq!(services, BTreeSet::from(["assemble", "delivery"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_zero_with_offsets_committed() {
    let broker = Broker::start();
    let bind = format!("127.0.0.1:{}", pizza_tests::broker::free_port());
    let shop = Shop::open(&broker, &[("webapp", "bind", &bind)]).await;
    let mut services = shop.start_pipeline();
    let web = shop.start("webapp");
    let producer = shop.producer().await;
    let orders = ids("51c7", 10);
    for id in &orders {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&orders, 999, PATIENCE).await;
    web.wait_for_log("Web app listening", PATIENCE).await;
    services.push(web);

    for service in &mut services {
        let (status, took) = service.terminate();
        assert!(status.success(), "{} exited with {status}", service.name);
        assert!(
            took < Duration::from_secs(5),
            "{} took {took:?} to stop",
            service.name
        );
        let log = service.log();
        assert!(
            log.contains("Graceful shutdown completed"),
            "{}",
            service.name
        );
        if service.name != "webapp" {
            assert!(
                log.contains("Consumer in consumer group successfully closed"),
                "{}",
                service.name
            );
        }
    }

    // A restarted kitchen finds nothing left to do: every finished order was committed.
    let assemble = shop.start("assemble");
    assemble
        .wait_for_log("Subscribed to topic(s)", PATIENCE)
        .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let redone = assemble.log().matches("Preparing order").count();
    assert_eq!(
        redone,
        orders.len(),
        "the restarted service redid finished orders"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_bake_exits_within_five_seconds_and_the_order_is_redone() {
    let broker = Broker::start();
    // Real time: assembling takes 4 to 11 s, so SIGTERM arrives mid-work.
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "1")]).await;
    let mut assemble = shop.start("assemble");
    let producer = shop.producer().await;
    shop.place_order(&producer, "0b5e55ed").await;
    assemble
        .wait_for_log("Preparing order '0b5e55ed'", PATIENCE)
        .await;

    let (status, took) = assemble.terminate();
    assert!(status.success(), "exit {status}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(!assemble.log().contains("Order '0b5e55ed' is assembled"));

    // The interrupted order was not committed: the next instance picks it up again.
    let again = shop.start("assemble");
    again
        .wait_for_log("Order '0b5e55ed' is assembled", PATIENCE)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_ksqldb_producing_statuses_the_services_stay_quiet() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[("status-events", "produced_by", "ksqldb")]).await;
    let _services = shop.start_pipeline();
    let producer = shop.producer().await;
    // The harness announces the order as the web app would, including its own status event.
    shop.place_order(&producer, "c0de0001").await;

    let delivered = read_until(&shop.kafka, &shop.sys.topics.delivered, PATIENCE, |r| {
        !r.is_empty()
    });
    assert_eq!(delivered.len(), 1, "the kitchen and the driver still work");
    let statuses = read_until(
        &shop.kafka,
        &shop.sys.topics.status,
        Duration::from_secs(3),
        |r| r.len() > 1,
    );
    let codes: Vec<i64> = statuses
        .iter()
        .map(|r| r.json()["status"].as_i64().unwrap_or_default())
        .collect();
    assert_eq!(
        codes,
        [100],
        "only the harness wrote pizza-status; ksqlDB would write the rest"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_order_is_delivered_once() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let _services = shop.start_pipeline();
    let producer = shop.producer().await;
    shop.place_order(&producer, "d0b1e001").await;
    // The same event again, as a replay after a crash would bring it: the kitchen makes the
    // pizza twice, but delivery and the view must not show it twice.
    let again = common::events::PizzaOrdered {
        status: 100,
        timestamp: now_ms(),
        order: order_details("d0b1e001"),
    };
    producer
        .send_json(&shop.sys.topics.ordered, "d0b1e001", &again)
        .await
        .expect("replayed");
    shop.wait_for_status("d0b1e001", 999, PATIENCE)
        .await
        .expect("delivered");

    let baked = read_until(&shop.kafka, &shop.sys.topics.baked, PATIENCE, |r| {
        r.len() >= 2
    });
    assert_eq!(baked.len(), 2, "both copies went through the kitchen");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered = read_until(
        &shop.kafka,
        &shop.sys.topics.delivered,
        Duration::from_secs(5),
        |r| r.len() > 1,
    );
    assert_eq!(delivered.len(), 1, "one driver for one order");
}
