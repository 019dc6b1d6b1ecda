//! The consumer's own view of its partitions, from librdkafka's statistics (every
//! `statistics.interval.ms`, set by the consume loop only when metrics are served).

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rdkafka::statistics::Statistics;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PartitionLabels {
    messaging_destination_name: String,
    messaging_destination_partition_id: String,
}

#[derive(Debug, Default)]
pub(crate) struct ClientStats {
    assigned: Gauge,
    lag_stored: Family<PartitionLabels, Gauge>,
    rebalances: Counter,
    /// What the last statistics held: partitions no longer assigned are removed, not left
    /// showing their last lag.
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    partitions: HashSet<PartitionLabels>,
    rebalances: u64,
}

impl ClientStats {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "librdkafka_consumer_assigned_partitions",
            "Partitions assigned to this member of the consumer group",
            self.assigned.clone(),
        );
        registry.register(
            "librdkafka_consumer_lag_stored",
            "Per assigned partition, events behind the end of the partition counted from the last offset this member stored (handled)",
            self.lag_stored.clone(),
        );
        registry.register(
            "librdkafka_consumer_rebalances",
            "Rebalances of the consumer group this member has taken part in",
            self.rebalances.clone(),
        );
    }

    pub(crate) fn update(&self, statistics: &Statistics) {
        let mut now = HashSet::new();
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                // -1 is librdkafka's bucket for events not yet given a partition; `none` is a
                // partition it knows of but does not fetch (not assigned here); a negative lag is
                // one it cannot tell yet (nothing stored since the assignment).
                if *partition < 0 || p.fetch_state == "none" || p.consumer_lag_stored < 0 {
                    continue;
                }
                let labels = PartitionLabels {
                    messaging_destination_name: topic.clone(),
                    messaging_destination_partition_id: partition.to_string(),
                };
                self.lag_stored
                    .get_or_create(&labels)
                    .set(p.consumer_lag_stored);
                now.insert(labels);
            }
        }
        let mut seen = match self.seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        for gone in seen.partitions.difference(&now) {
            self.lag_stored.remove(gone);
        }
        seen.partitions = now;
        if let Some(group) = &statistics.cgrp {
            self.assigned.set(i64::from(group.assignment_size));
            let total = u64::try_from(group.rebalance_cnt).unwrap_or(0);
            self.rebalances
                .inc_by(total.saturating_sub(seen.rebalances));
            seen.rebalances = seen.rebalances.max(total);
        }
    }
}
