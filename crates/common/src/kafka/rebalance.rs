//! Says in the log which partitions a member gains and loses, so scaling out (or a crashed
//! instance's partitions moving to another) can be watched and checked; and hands librdkafka's
//! statistics, when asked for, to the metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, TopicPartitionList};

use crate::metrics::ClientStats;

#[derive(Default)]
pub(crate) struct RebalanceLogger {
    stats: Option<Arc<ClientStats>>,
}

impl RebalanceLogger {
    pub(crate) fn with_stats(stats: Arc<ClientStats>) -> Self {
        Self { stats: Some(stats) }
    }
}

impl ClientContext for RebalanceLogger {
    /// Called every `statistics.interval.ms`, set only when metrics are served.
    fn stats(&self, statistics: Statistics) {
        if let Some(stats) = &self.stats {
            stats.update(&statistics);
        }
    }
}

impl ConsumerContext for RebalanceLogger {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                tracing::info!("Partitions assigned: {}", describe(list));
            }
            Rebalance::Revoke(list) => {
                tracing::info!("Partitions revoked: {}", describe(list));
            }
            Rebalance::Error(error) => tracing::warn!("Rebalance failed: {error}"),
        }
    }
}

/// `pizza-baked [0, 1], pizza-ordered [0, 1]`: topics sorted, partitions sorted.
pub(crate) fn describe(list: &TopicPartitionList) -> String {
    let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for element in list.elements() {
        by_topic
            .entry(element.topic().to_owned())
            .or_default()
            .push(element.partition());
    }
    if by_topic.is_empty() {
        return "none".to_owned();
    }
    by_topic
        .into_iter()
        .map(|(topic, mut partitions)| {
            partitions.sort_unstable();
            format!("{topic} {partitions:?}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_topics_and_partitions_in_order() {
        let mut list = TopicPartitionList::new();
        list.add_partition("pizza-ordered", 1);
        list.add_partition("pizza-baked", 1);
        list.add_partition("pizza-ordered", 0);
        list.add_partition("pizza-baked", 0);
        assert_eq!(describe(&list), "pizza-baked [0, 1], pizza-ordered [0, 1]");
        assert_eq!(describe(&TopicPartitionList::new()), "none");
    }
}
