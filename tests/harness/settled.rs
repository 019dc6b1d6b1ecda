//! "No order delivered twice" can only be counted once nothing more can come. A delivery
//! instance that dies between its `pizza-delivered` event and noting it in the store leaves a
//! claim behind; when the claim lapses another instance takes the order over (and, since it
//! looks for the event first, should not deliver again). So a duplicate from a fault can land
//! up to a claim's length after every order already shows one event: the count waits for that,
//! and for the delivery group to have committed everything it was given.

use std::time::{Duration, Instant};

use common::domain::route;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::topic_reader::count_by_key;
use crate::Shop;

/// A retried notice waits at most this long between tries (the consume loop's longest pause),
/// and a takeover looks the order up on the topic first.
const TAKEOVER_SLACK: Duration = Duration::from_secs(15);
const PATIENCE: Duration = Duration::from_secs(10);

/// The orders of `orders` with more than one `pizza-delivered` event, counted once every order
/// has one, every claim taken before that has lapsed and been acted on, and the delivery group
/// has committed up to the end of both topics it reads. Panics if an order has no event within
/// `timeout`.
pub async fn delivered_twice(shop: &Shop, orders: &[String], timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let counts = count_by_key(&shop.kafka, &shop.sys.topics.delivered);
        let missing: Vec<&String> = orders
            .iter()
            .filter(|id| !counts.contains_key(*id))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} orders have no pizza-delivered event: {missing:?}",
            missing.len(),
            orders.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The delivery service's own claim length, not a copy of it.
    tokio::time::sleep(route::claim(shop.sys.time_scale) + TAKEOVER_SLACK).await;
    wait_until_caught_up(shop).await;
    let counts = count_by_key(&shop.kafka, &shop.sys.topics.delivered);
    orders
        .iter()
        .filter(|id| counts.get(*id).copied().unwrap_or(0) > 1)
        .cloned()
        .collect()
}

/// Until the delivery group's committed offsets reach the end of each partition it reads.
async fn wait_until_caught_up(shop: &Shop) {
    let topics = [
        shop.sys.topics.ordered.clone(),
        shop.sys.topics.baked.clone(),
    ];
    group_caught_up(shop, &shop.sys.group_ids.delivery, &topics).await;
}

/// Until `group` has committed up to the end of every partition of `topics`: everything on them
/// now has been handled by its members.
pub async fn group_caught_up(shop: &Shop, group: &str, topics: &[String]) {
    let kafka = shop.kafka.clone();
    let (group, topics) = (group.to_owned(), topics.to_vec());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (kafka, asked, topics) = (kafka.clone(), group.clone(), topics.clone());
        let behind = tokio::task::spawn_blocking(move || behind(&kafka, &asked, &topics))
            .await
            .expect("the offsets are read");
        if behind.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the group {group} is still behind: {behind:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The partitions (topic, partition, committed, end) where `group` has not committed up to the
/// end. Asked with the group's id by a consumer that never subscribes, so it joins nothing.
fn behind(
    kafka: &common::settings::KafkaSettings,
    group: &str,
    topics: &[String],
) -> Vec<(String, i32, i64, i64)> {
    let mut config = kafka.client_config(common::settings::ClientRole::Consumer);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false");
    let consumer: BaseConsumer = config.create().expect("offsets reader");
    let mut list = TopicPartitionList::new();
    let mut ends = Vec::new();
    for topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), PATIENCE)
            .expect("topic metadata");
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (_, high) = consumer
                .fetch_watermarks(topic, partition.id(), PATIENCE)
                .expect("the partition's end");
            list.add_partition(topic, partition.id());
            ends.push((topic.clone(), partition.id(), high));
        }
    }
    let committed = consumer
        .committed_offsets(list, PATIENCE)
        .expect("the group's committed offsets");
    ends.into_iter()
        .filter_map(|(topic, partition, end)| {
            let at = match committed
                .find_partition(&topic, partition)
                .map(|e| e.offset())
            {
                Some(Offset::Offset(at)) => at,
                _ => 0,
            };
            (at < end).then_some((topic, partition, at, end))
        })
        .collect()
}
