//! The group's lag as the broker sees it, named as kafka_exporter names it: committed offsets
//! against the end of each partition. Unlike the member's own view (`client_stats`), this is
//! there while no member runs, which is when it matters most. Asked only when scraped, with
//! requests every Kafka cluster answers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::kafka::{GroupOffsets, GroupReader, PartitionOffsets};
use crate::settings::KafkaSettings;

#[derive(Debug)]
pub struct BrokerLag {
    reader: GroupReader,
    snapshot: Mutex<GroupOffsets>,
    failing: Mutex<bool>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        // A panic while refreshing leaves at worst an old snapshot, still worth showing.
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl BrokerLag {
    pub fn new(kafka: &KafkaSettings, group: &str, client_id: &str, topics: Vec<String>) -> Self {
        Self {
            reader: GroupReader::new(kafka, group, client_id, "metrics", topics),
            snapshot: Mutex::new(GroupOffsets::default()),
            failing: Mutex::new(false),
        }
    }

    /// Refreshes the figures, waiting at most `patience`: a page without this round's answer
    /// (the last one's, or none) beats a scrape that times out.
    pub(super) async fn refresh_off_thread(self: &Arc<Self>, patience: Duration) {
        let lag = self.clone();
        let asked = tokio::task::spawn_blocking(move || lag.refresh());
        if tokio::time::timeout(patience, asked).await.is_err() {
            tracing::debug!("The broker's offsets were not read in time for this scrape");
        }
    }

    /// Asks the broker; on failure the figures are left out rather than shown stale, and the
    /// log says so once, not at every scrape.
    fn refresh(&self) {
        let result = self.reader.read();
        let mut failing = locked(&self.failing);
        match result {
            Ok(snapshot) => {
                if *failing {
                    tracing::info!("The group's offsets can be read again");
                }
                *failing = false;
                *locked(&self.snapshot) = snapshot;
            }
            Err(error) => {
                if !*failing {
                    tracing::warn!(
                        "Consumer group lag left out of the metrics: {}",
                        crate::runtime::logging::error_chain(&error)
                    );
                }
                *failing = true;
                *locked(&self.snapshot) = GroupOffsets::default();
            }
        }
    }
}

fn gauge<'a>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    values: impl IntoIterator<Item = (Vec<(&'a str, String)>, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in values {
        ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for BrokerLag {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let snapshot = locked(&self.snapshot);
        let group = || ("consumergroup", self.reader.group().to_owned());
        let at = |p: &PartitionOffsets| {
            vec![
                ("topic", p.topic.clone()),
                ("partition", p.partition.to_string()),
            ]
        };
        let parts = &snapshot.partitions;
        gauge(
            &mut encoder,
            "kafka_topic_partition_current_offset",
            "Offset the next event of the partition will get (its high watermark)",
            parts.iter().map(|p| (at(p), p.newest)),
        )?;
        gauge(
            &mut encoder,
            "kafka_topic_partition_oldest_offset",
            "Offset of the oldest event the partition still keeps",
            parts.iter().map(|p| (at(p), p.oldest)),
        )?;
        gauge(
            &mut encoder,
            "kafka_consumergroup_current_offset",
            "Offset the group has committed on the partition (left out while it has committed none)",
            parts.iter().filter_map(|p| {
                let mut labels = vec![group()];
                labels.extend(at(p));
                p.committed.map(|offset| (labels, offset))
            }),
        )?;
        gauge(
            &mut encoder,
            "kafka_consumergroup_lag",
            "Events on the partition the group has not committed yet",
            parts.iter().map(|p| {
                let mut labels = vec![group()];
                labels.extend(at(p));
                (labels, p.lag())
            }),
        )?;
        let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
        for p in parts {
            *sums.entry(p.topic.as_str()).or_default() += p.lag();
        }
        gauge(
            &mut encoder,
            "kafka_consumergroup_lag_sum",
            "Events on the topic the group has not committed yet",
            sums.into_iter()
                .map(|(topic, lag)| (vec![group(), ("topic", topic.to_owned())], lag)),
        )?;
        if let Some(members) = snapshot.members.as_ref().map(Vec::len) {
            gauge(
                &mut encoder,
                "kafka_consumergroup_members",
                "Members of the group",
                [(vec![group()], i64::try_from(members).unwrap_or(i64::MAX))],
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(committed: Option<i64>) -> PartitionOffsets {
        PartitionOffsets {
            topic: "pizza-assembled".into(),
            partition: 0,
            oldest: 2,
            newest: 7,
            committed,
        }
    }

    #[test]
    fn encodes_kafka_exporter_names_and_labels() {
        let lag = BrokerLag::new(
            &KafkaSettings {
                properties: vec![("bootstrap.servers".into(), "127.0.0.1:9".into())],
                ksqldb: None,
                workarounds: Default::default(),
            },
            "pizza_bake",
            "pizza_client_bake",
            vec!["pizza-assembled".into()],
        );
        let member = crate::kafka::Member {
            client_id: "pizza_client_bake".into(),
            host: "127.0.0.1".into(),
            partitions: None,
        };
        *locked(&lag.snapshot) = GroupOffsets {
            partitions: vec![
                at(Some(4)),
                PartitionOffsets {
                    partition: 1,
                    ..at(None)
                },
            ],
            members: Some(vec![member]),
        };
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(lag));
        let mut page = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut page, &registry)
            .expect("encodes");
        for line in [
            "kafka_consumergroup_lag{consumergroup=\"pizza_bake\",topic=\"pizza-assembled\",partition=\"0\"} 3",
            "kafka_consumergroup_lag{consumergroup=\"pizza_bake\",topic=\"pizza-assembled\",partition=\"1\"} 5",
            "kafka_consumergroup_lag_sum{consumergroup=\"pizza_bake\",topic=\"pizza-assembled\"} 8",
            "kafka_consumergroup_members{consumergroup=\"pizza_bake\"} 1",
            "kafka_consumergroup_current_offset{consumergroup=\"pizza_bake\",topic=\"pizza-assembled\",partition=\"0\"} 4",
            "kafka_topic_partition_current_offset{topic=\"pizza-assembled\",partition=\"1\"} 7",
            "# TYPE kafka_consumergroup_lag gauge",
        ] {
            assert!(page.lines().any(|l| l == line), "{line:?} not in:\n{page}");
        }
        assert!(
            !page.contains("current_offset{consumergroup=\"pizza_bake\",topic=\"pizza-assembled\",partition=\"1\"}"),
            "nothing committed is not shown as an offset"
        );
    }
}
