//! Scaling out by giving the topics more partitions, as the README advises, while the services
//! run: producers and consumer groups follow the new count without a restart, every order is
//! delivered once, and once the producers have seen the count, each order's events share one
//! partition number on every topic (the Java client's partition for the order id).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::kafka::partitioner::partition_for;
use pizza_tests::settled;
use pizza_tests::shop::ids;
use pizza_tests::topic_reader::{read_all, Record};
use pizza_tests::{Broker, Shop};

const BEFORE: i32 = 2;
const AFTER: i32 = 4;
/// The services' metadata refresh (30 s) plus a rebalance, with room to spare.
const SEEN_WITHIN: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread")]
async fn partitions_added_to_live_topics_are_used_and_keep_each_order_on_one_partition_number() {
    let mut broker = Broker::start_durable();
    let shop = Shop::open_with_kafka(&broker.kafka_ini(), &[]).await;
    let _services = shop.start_pipeline();
    let producer = shop.producer().await;
    let topics = shop.sys.topics.clone();
    let shop_topics = [
        topics.ordered.as_str(),
        topics.assembled.as_str(),
        topics.baked.as_str(),
        topics.delivered.as_str(),
        topics.pending.as_str(),
        topics.status.as_str(),
    ];

    let before = ids("a1de", 20);
    shop.place_steadily(&producer, &before, Duration::from_millis(50))
        .await;
    assert!(
        shop.wait_until_delivered(&before, SEEN_WITHIN)
            .await
            .is_empty(),
        "orders before the change are delivered"
    );

    broker.add_partitions(&shop_topics, AFTER);

    // Orders keep coming until the web app's producer (here the harness's, the same code) puts
    // one on a partition that did not exist before.
    let deadline = Instant::now() + SEEN_WITHIN;
    let mut during = Vec::new();
    let mut n = 0;
    loop {
        let batch = ids(&format!("d{n:03x}"), 5);
        n += 1;
        shop.place_steadily(&producer, &batch, Duration::from_millis(200))
            .await;
        during.extend(batch);
        let on_new = read_all(&shop.kafka, &topics.ordered)
            .iter()
            .any(|r| r.partition >= BEFORE);
        if on_new {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no order reached a new partition within {SEEN_WITHIN:?} of adding them"
        );
    }

    // Every service's producer refreshes on a period of its own. An order that belongs on a new
    // partition and has every event there shows that all of them have seen the new count: one
    // that has not could only put it on an old one.
    let probes = ids("9b0e", 256)
        .into_iter()
        .filter(|id| partition_for(id.as_bytes(), AFTER) >= BEFORE);
    let mut seen_by_all = false;
    for probe in probes {
        shop.place_order(&producer, &probe).await;
        during.push(probe.clone());
        let lost = shop
            .wait_until_delivered(std::slice::from_ref(&probe), SEEN_WITHIN)
            .await;
        assert!(lost.is_empty(), "probe {probe} not delivered");
        let expected = partition_for(probe.as_bytes(), AFTER);
        seen_by_all = shop_topics.iter().all(|topic| {
            read_all(&shop.kafka, topic)
                .iter()
                .filter(|r| r.key.as_deref() == Some(probe.as_str()))
                .all(|r| r.partition == expected)
        });
        if seen_by_all {
            break;
        }
        assert!(
            Instant::now() < deadline + SEEN_WITHIN,
            "some service still put an order's events on the old partitions long after the change"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(
        seen_by_all,
        "probes left before every producer saw the new count"
    );
    let after = ids("af7e", 40);
    shop.place_steadily(&producer, &after, Duration::from_millis(50))
        .await;

    let all: Vec<String> = before
        .iter()
        .chain(&during)
        .chain(&after)
        .cloned()
        .collect();
    let lost = shop.wait_until_delivered(&all, SEEN_WITHIN).await;
    assert!(lost.is_empty(), "orders not delivered: {lost:?}");
    // Counted once nothing more can come: the broker restarted under running services, and a
    // delivery whose event went unanswered then is retried once its claim lapses.
    let twice = settled::delivered_twice(&shop, &all, Duration::from_secs(30)).await;
    assert!(twice.is_empty(), "delivered twice: {twice:?}");

    let placed: HashMap<&str, Vec<Record>> = shop_topics
        .iter()
        .map(|t| (*t, read_all(&shop.kafka, t)))
        .collect();
    let mut on_new_partitions = 0;
    for id in &after {
        let expected = partition_for(id.as_bytes(), AFTER);
        if expected >= BEFORE {
            on_new_partitions += 1;
        }
        for (topic, records) in &placed {
            for record in records.iter().filter(|r| r.key.as_deref() == Some(id)) {
                assert_eq!(
                    record.partition, expected,
                    "order {id} on {topic}: partition {} where the Java client puts it on {expected}",
                    record.partition
                );
            }
        }
        // 150 too when pizza-baked reached delivery before pizza-ordered (two topics, so no
        // order between them), and nothing twice.
        let mut statuses: Vec<i64> = placed[topics.status.as_str()]
            .iter()
            .filter(|r| r.key.as_deref() == Some(id))
            .filter_map(|r| r.json()["status"].as_i64())
            .collect();
        statuses.sort_unstable();
        statuses.retain(|s| *s != 150);
        assert_eq!(
            statuses,
            [100, 200, 300, 999],
            "order {id}: its statuses, each once"
        );
    }
    assert!(
        on_new_partitions > 0,
        "some of the orders after the change belong on a new partition"
    );
}
