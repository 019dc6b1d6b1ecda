//! The event pipeline end to end: a real broker, the real binaries at time_scale 0, orders fed
//! the way the web app feeds them.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use common::domain::events::{now_ms, PizzaAssembled};
use common::domain::status::StatusAt;
use common::domain::wiring::ServiceName;
use pizza_tests::shop::{ids, order_details, ordered, send_raw, STUCK_AFTER_3_S};
use pizza_tests::topic_reader::{read_all, read_until, statuses_by_order};
use pizza_tests::{Broker, Shop};
use rdkafka::producer::FutureRecord;
use store::DeliveryState;

const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn every_order_goes_through_each_stage_to_delivered_once() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let mut services = shop.start_pipeline();
    let producer = shop.producer().await;
    let orders = ids("a1", 30);
    for id in &orders {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&orders, 999, PATIENCE).await;
    // Stopped, nothing more can be produced: what is on the topics now is everything.
    for service in &mut services {
        assert!(service.terminate().0.success());
        // The harness's file sets a consumer property; no producer may be handed it.
        let log = service.log();
        assert!(!log.contains("CONFWARN"), "{log}");
    }

    let by_order = statuses_by_order(&shop.kafka, &shop.sys.topics.status);
    for id in &orders {
        assert_eq!(
            by_order[id],
            [100, 200, 300, 999],
            "each status of {id} once"
        );
    }
    let delivered = read_all(&shop.kafka, &shop.sys.topics.delivered);
    assert_eq!(
        delivered.len(),
        orders.len(),
        "one pizza-delivered event per order"
    );

    // The assembled events carry the kitchen's baking time, 8 to 15 s.
    let assembled = read_all(&shop.kafka, &shop.sys.topics.assembled);
    assert_eq!(assembled.len(), orders.len());
    for record in &assembled {
        let baking = record.json()["baking_time"].as_i64().unwrap_or_default();
        assert!((8..=15).contains(&baking), "baking_time {baking}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn baked_before_the_early_warning_is_pending_then_delivered() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let _status = shop.start(ServiceName::Status);
    let _delivery = shop.start(ServiceName::Delivery);
    let producer = shop.producer().await;
    let id = "b0bed001";

    // Store the order but hold back its early warning: only the baked notice reaches delivery.
    let placed = ordered(id);
    shop.orders
        .add_order(id, &placed, now_ms())
        .await
        .expect("stored");
    let baked = StatusAt {
        status: 300,
        timestamp: now_ms(),
    };
    producer
        .producer()
        .send_json(&shop.sys.topics.baked, id, &baked)
        .await
        .expect("baked");
    shop.wait_for_status(id, 150, PATIENCE)
        .await
        .expect("pending first");

    producer
        .producer()
        .send_json(&shop.sys.topics.ordered, id, &ordered(id))
        .await
        .expect("ordered");
    shop.wait_for_status(id, 999, PATIENCE)
        .await
        .expect("then delivered");
    let pending = read_all(&shop.kafka, &shop.sys.topics.pending);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].json()["status"], 150);
}

#[tokio::test(flavor = "multi_thread")]
async fn watchdog_flags_a_stalled_order_and_progress_clears_it() {
    let broker = Broker::start();
    // Checks every 0.6 s for orders without progress for 3 s: progress shows in the view for
    // 3 s at least before the order can be flagged again.
    let shop = Shop::open(&broker, &[STUCK_AFTER_3_S]).await;
    let status = shop.start(ServiceName::Status);
    let producer = shop.producer().await;
    // Only the status service runs: the kitchen never picks the order up.
    shop.place_order(&producer, "5ca1ab1e").await;
    shop.wait_for_status("5ca1ab1e", 50, PATIENCE)
        .await
        .expect("flagged stuck");
    status
        .wait_for_log("Order '5ca1ab1e' got stuck!", Duration::from_secs(5))
        .await;

    let progress = StatusAt {
        status: 200,
        timestamp: now_ms(),
    };
    producer
        .producer()
        .send_json(&shop.sys.topics.status, "5ca1ab1e", &progress)
        .await
        .expect("status");
    shop.wait_for_status("5ca1ab1e", 200, PATIENCE)
        .await
        .expect("progress replaces stuck");
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_events_are_dead_lettered_without_losing_the_events_behind_them() {
    // A cluster that checks no contract (Confluent Cloud with plain JSON): the poison reaches the
    // topics, and the consumers must cope. (Where the contracts are enforced, the broker refuses
    // most of it: tests/it/contracts.rs.)
    let broker = Broker::start_without_contracts();
    // One partition, so the poison sits in front of the good orders on every topic.
    let shop = Shop::open(&broker, &[("kafka-topic-config", "num_partitions", "1")]).await;
    let producer = shop.producer().await;
    shop.place_order(&producer, "900d0001").await;
    // A known order whose event is not JSON, so it can be marked something_wrong.
    shop.orders
        .add_order("bad00001", &ordered("bad00001"), now_ms())
        .await
        .expect("stored");
    let topics = &shop.sys.topics;
    // What each service reads: pizza-ordered (assemble, delivery), pizza-assembled (bake),
    // pizza-baked (delivery), pizza-status (status).
    let not_an_id_of_hex = br#"{"status":100,"timestamp":1,"order":{"customer_id":"not hex!","username":"Eve","sauce":"Tomato","cheese":"Gouda","main_topping":"Pork","extra_toppings":[]}}"#;
    let poisons: [(&str, &str, &[u8]); 8] = [
        (&topics.ordered, "bad00001", b"{not json"),
        (&topics.ordered, "", br#"{"status":100}"#),
        (
            &topics.ordered,
            "bad00002",
            br#"{"status":100,"timestamp":1}"#,
        ),
        (&topics.ordered, "bad00003", not_an_id_of_hex),
        (
            &topics.assembled,
            "bad00004",
            br#"{"status":200,"baking_time":99999999,"timestamp":1}"#,
        ),
        (
            &topics.assembled,
            "bad00005",
            br#"{"status":200,"timestamp":1}"#,
        ),
        (&topics.baked, "bad00006", b"[]"),
        (&topics.status, "bad00007", br#"{"status":"done"}"#),
    ];
    for (topic, key, value) in poisons {
        send_raw(&producer, topic, key, value).await;
    }
    // What no JSON producer would send but any client can: no key at all, no value (a
    // tombstone) and a key that is not UTF-8, on every topic a service reads.
    let raw: rdkafka::producer::FutureProducer =
        common::kafka::producer_config(&shop.kafka, "pizza-tests-raw")
            .create()
            .expect("raw producer");
    let read_by_services = [
        &topics.ordered,
        &topics.assembled,
        &topics.baked,
        &topics.status,
    ];
    for topic in read_by_services {
        let records: [FutureRecord<'_, [u8], [u8]>; 3] = [
            FutureRecord::to(topic).payload(&br#"{"status":100,"timestamp":1}"#[..]),
            FutureRecord::to(topic).key(&b"bad00008"[..]),
            FutureRecord::to(topic)
                .key(&b"\xff\xfe\x00bad"[..])
                .payload(&br#"{"status":100,"timestamp":1}"#[..]),
        ];
        for record in records {
            raw.send(record, Duration::from_secs(10))
                .await
                .unwrap_or_else(|(e, _)| panic!("{topic}: {e}"));
        }
    }
    let behind = ids("900d1", 5);
    for id in &behind {
        shop.place_order(&producer, id).await;
    }

    let mut services = shop.start_pipeline();
    shop.wait_for_status("900d0001", 999, PATIENCE)
        .await
        .expect("the order in front");
    shop.wait_for_all(&behind, 999, PATIENCE).await;
    shop.wait_for_status("bad00001", 430, PATIENCE)
        .await
        .expect("known order marked something_wrong");

    // assemble and delivery both read pizza-ordered; the non-hex customer id is delivery's
    // poison only (assemble makes the pizza).
    // Each topic a service reads also carries the three records without a key, without a value
    // and with a key that is not UTF-8.
    let expected = [
        ("assemble", "pizza-ordered", 3 + 3),
        ("delivery", "pizza-ordered", 4 + 3),
        ("bake", "pizza-assembled", 2 + 3),
        ("delivery", "pizza-baked", 1 + 3),
        ("status", "pizza-status", 1 + 3),
    ];
    let total: usize = expected.iter().map(|(_, _, n)| n).sum();
    // Once as many as expected have come, the services (the topic's only producers) stop, so
    // what is on it then is all there will be: a dead letter sent twice shows.
    read_until(&shop.kafka, &topics.dead_letter, PATIENCE, |r| {
        r.len() >= total
    });
    for service in &mut services {
        assert!(service.terminate().0.success(), "{} stops", service.name);
    }
    let dead = read_all(&shop.kafka, &topics.dead_letter);
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for record in &dead {
        assert!(!record.headers["error.reason"].is_empty());
        assert!(record.headers.contains_key("error.offset"));
        *seen
            .entry((
                record.headers["error.service"].clone(),
                record.headers["error.topic"].clone(),
            ))
            .or_default() += 1;
    }
    for (service, topic, count) in expected {
        assert_eq!(
            seen.get(&(service.to_owned(), topic.to_owned())),
            Some(&count),
            "{service} on {topic}: {seen:?}"
        );
    }
    assert_eq!(dead.len(), total);
    let reasons: BTreeSet<&str> = dead
        .iter()
        .map(|r| r.headers["error.reason"].as_str())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("out of range")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("not hexadecimal")),
        "{reasons:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_zero_with_offsets_committed() {
    let broker = Broker::start();
    // One partition, so an order placed after the restart comes after every earlier one.
    let shop = Shop::open(&broker, &[("kafka-topic-config", "num_partitions", "1")]).await;
    let mut services = shop.start_pipeline();
    let web = shop.start(ServiceName::Webapp);
    let producer = shop.producer().await;
    let orders = ids("51c7", 10);
    for id in &orders {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&orders, 999, PATIENCE).await;
    web.web_address().await;
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
        if service.name != ServiceName::Webapp {
            assert!(
                log.contains("Consumer in consumer group successfully closed"),
                "{}",
                service.name
            );
        }
    }

    // A restarted kitchen finds nothing left to do: every finished order was committed. It
    // reads the order placed now only after all of those, so once that one is assembled, any
    // redone order would have shown.
    let assemble = shop.start(ServiceName::Assemble);
    shop.place_order(&producer, "51c8aaaa").await;
    assemble
        .wait_for_log("Order '51c8aaaa' is assembled!", PATIENCE)
        .await;
    let after = assemble.log();
    assert!(
        after.contains("Partitions assigned: pizza-ordered [0]"),
        "{after}"
    );
    let redone = after.matches("Preparing order '51c7").count();
    assert_eq!(
        redone, 0,
        "the restarted service redid finished orders:\n{after}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_bake_exits_within_five_seconds_and_the_order_is_redone() {
    let broker = Broker::start();
    // Real time: baking takes 8 s, so SIGTERM arrives mid-bake.
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "1")]).await;
    let mut bake = shop.start(ServiceName::Bake);
    let producer = shop.producer().await;
    let assembled = PizzaAssembled {
        status: 200,
        baking_time: 8,
        timestamp: now_ms(),
    };
    producer
        .producer()
        .send_json(&shop.sys.topics.assembled, "0b5e55ed", &assembled)
        .await
        .expect("assembled");
    bake.wait_for_log(
        "Preparing order '0b5e55ed', baking time is 8 second(s)",
        PATIENCE,
    )
    .await;

    let (status, took) = bake.terminate();
    assert!(status.success(), "exit {status}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(!bake.log().contains("Order '0b5e55ed' is baked"));
    assert!(read_all(&shop.kafka, &shop.sys.topics.baked).is_empty());

    // The interrupted bake was not committed: the next instance bakes it again.
    let again = shop.start(ServiceName::Bake);
    again
        .wait_for_log("Order '0b5e55ed' is baked!", PATIENCE)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_ksqldb_producing_statuses_the_services_stay_quiet() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[("status-events", "produced_by", "ksqldb")]).await;
    let mut services = shop.start_pipeline();
    let producer = shop.producer().await;
    // The harness places the order as the web app would, through the same rules.
    shop.place_order(&producer, "c0de0001").await;

    read_until(&shop.kafka, &shop.sys.topics.delivered, PATIENCE, |r| {
        !r.is_empty()
    });
    for service in &mut services {
        assert!(service.terminate().0.success());
    }
    // Stopped, nothing more can be produced: what is on the topics now is everything.
    let delivered = read_all(&shop.kafka, &shop.sys.topics.delivered);
    assert_eq!(delivered.len(), 1, "the kitchen and the driver still work");
    let statuses = read_all(&shop.kafka, &shop.sys.topics.status);
    assert!(
        statuses.is_empty(),
        "ksqlDB would write pizza-status; nobody else did: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_order_is_delivered_once() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let mut services = shop.start_pipeline();
    let producer = shop.producer().await;
    shop.place_order(&producer, "d0b1e001").await;
    // The same event again, as a replay after a crash would bring it: the kitchen makes the
    // pizza twice, but delivery and the view must not show it twice.
    producer
        .producer()
        .send_json(&shop.sys.topics.ordered, "d0b1e001", &ordered("d0b1e001"))
        .await
        .expect("replayed");
    shop.wait_for_status("d0b1e001", 999, PATIENCE)
        .await
        .expect("delivered");
    read_until(&shop.kafka, &shop.sys.topics.baked, PATIENCE, |r| {
        r.len() >= 2
    });
    // Delivery has heard the second early warning and the second baked notice once it has said
    // twice that it had nothing more to do.
    let repeated = "Order 'd0b1e001' needs nothing more from delivery";
    let deadline = std::time::Instant::now() + PATIENCE;
    while services[1].log().matches(repeated).count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            services[1].log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for service in &mut services {
        assert!(service.terminate().0.success());
    }
    // Stopped, nothing more can be produced: what is on the topics now is everything.
    let baked = read_all(&shop.kafka, &shop.sys.topics.baked);
    assert_eq!(baked.len(), 2, "both copies went through the kitchen");
    let delivered = read_all(&shop.kafka, &shop.sys.topics.delivered);
    assert_eq!(delivered.len(), 1, "one driver for one order");
}

/// A delivery instance that dies after its `pizza-delivered` event was acknowledged and before
/// it saved "delivered" leaves a claim behind. The instance that takes the order over once the
/// claim lapses looks for that event on the topic first, sends no second driver, and says
/// "delivered" on `pizza-status` in the dead instance's place; for an order whose dead instance
/// never reached the door, it delivers.
#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_that_reached_the_door_before_its_instance_died_is_not_repeated() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let store = shop.delivery_store().await;
    let producer = shop.producer().await;
    let (reached, stopped_short) = ("d00e0001", "d00e0002");
    let started = now_ms() - 1_000;
    for order_id in [reached, stopped_short] {
        // What the dead instance left: the order claimed, its claim lapsed, nothing delivered.
        let left = DeliveryState {
            customer_id: Some(order_details(order_id).customer_id),
            baked: true,
            late: false,
            claimed_until: Some(started + 1),
            delivered: false,
        };
        assert!(store
            .save(order_id, &left, None, started)
            .await
            .expect("saved"));
    }
    // The first instance's delivered event reached the broker before it died.
    producer
        .producer()
        .send_json(
            &shop.sys.topics.delivered,
            reached,
            &StatusAt {
                status: 999,
                timestamp: started,
            },
        )
        .await
        .expect("the first delivery's event");
    // The baked notices come again: their offsets were never committed.
    for order_id in [reached, stopped_short] {
        let baked = StatusAt {
            status: 300,
            timestamp: now_ms(),
        };
        producer
            .producer()
            .send_json(&shop.sys.topics.baked, order_id, &baked)
            .await
            .expect("baked again");
    }

    let mut delivery = shop.start(ServiceName::Delivery);
    delivery
        .wait_for_log(
            &format!("Order '{reached}' was delivered by an earlier attempt that stopped before it could note it"),
            PATIENCE,
        )
        .await;
    delivery
        .wait_for_log(
            &format!("Order '{stopped_short}' delivered to customer_id"),
            PATIENCE,
        )
        .await;
    assert!(delivery.terminate().0.success());
    assert!(
        !delivery
            .log()
            .contains(&format!("Deliverying order '{reached}'")),
        "no second driver for {reached}"
    );
    let delivered = read_all(&shop.kafka, &shop.sys.topics.delivered);
    let count = |id: &str| {
        delivered
            .iter()
            .filter(|r| r.key.as_deref() == Some(id))
            .count()
    };
    assert_eq!(
        count(reached),
        1,
        "delivered once, by the instance that died"
    );
    assert_eq!(
        count(stopped_short),
        1,
        "delivered once, by the instance that took over"
    );
    let state = store.load(reached).await.expect("loaded").expect("kept");
    assert!(state.value.delivered, "noted as delivered: {state:?}");
    // The dead instance's "delivered" status never landed: the instance that took over says it.
    let by_order = statuses_by_order(&shop.kafka, &shop.sys.topics.status);
    for order_id in [reached, stopped_short] {
        assert_eq!(
            by_order.get(order_id).and_then(|s| s.last()),
            Some(&999),
            "{order_id}: {by_order:?}"
        );
    }
}
