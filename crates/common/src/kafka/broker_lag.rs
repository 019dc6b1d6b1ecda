//! Consumer groups' lag as the broker sees it, named as kafka_exporter names it: committed
//! offsets against the end of each partition. Unlike a member's own view (`client_stats`), this
//! is there while no member runs, which is when it matters most; so one program (the status
//! service) reports every group of the shop, as a kafka_exporter would, and a stopped service's
//! backlog is seen. Asked only when scraped, with requests every Kafka cluster answers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use async_trait::async_trait;

use super::{GroupOffsets, GroupReader, PartitionOffsets};
use crate::metrics::Refreshed;
use crate::settings::KafkaSettings;

/// The groups whose lag a scrape reports.
#[derive(Debug)]
pub struct BrokerLag {
    groups: Vec<Arc<WatchedGroup>>,
}

#[derive(Debug)]
struct WatchedGroup {
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
    /// `groups`: each group's id and the topics it reads. The readers' clients are named after
    /// `client_id`.
    pub fn new(kafka: &KafkaSettings, client_id: &str, groups: Vec<(String, Vec<String>)>) -> Self {
        let groups = groups
            .into_iter()
            .map(|(group, topics)| {
                Arc::new(WatchedGroup {
                    reader: GroupReader::new(kafka, &group, client_id, "metrics", topics),
                    snapshot: Mutex::new(GroupOffsets::default()),
                    failing: Mutex::new(false),
                })
            })
            .collect();
        Self { groups }
    }

    /// Refreshes the figures, every group at once, waiting at most `patience`: a page without
    /// this round's answer (the last one's, or none) beats a scrape that times out.
    async fn refresh_off_thread(&self, patience: Duration) {
        let asked = self.groups.iter().map(|group| {
            let group = group.clone();
            tokio::task::spawn_blocking(move || group.refresh())
        });
        let all = futures::future::join_all(asked);
        if tokio::time::timeout(patience, all).await.is_err() {
            tracing::debug!("The broker's offsets were not all read in time for this scrape");
        }
    }
}

impl WatchedGroup {
    /// Asks the broker; on failure the group's figures are left out rather than shown stale, and
    /// the log says so once, not at every scrape.
    fn refresh(&self) {
        let result = self.reader.read();
        let mut failing = locked(&self.failing);
        let group = self.reader.group();
        match result {
            Ok(snapshot) => {
                if *failing {
                    tracing::info!("The offsets of group {group} can be read again");
                }
                *failing = false;
                *locked(&self.snapshot) = snapshot;
            }
            Err(error) => {
                if !*failing {
                    tracing::warn!(
                        "The lag of group {group} is left out of the metrics: {}",
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

#[async_trait]
impl Refreshed for BrokerLag {
    /// The groups' offsets are asked for on the blocking pool: the calls block.
    async fn refresh(&self, patience: Duration) {
        self.refresh_off_thread(patience).await;
    }
}

impl Collector for BrokerLag {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let snapshots: Vec<(&str, GroupOffsets)> = self
            .groups
            .iter()
            .map(|g| (g.reader.group(), locked(&g.snapshot).clone()))
            .collect();
        let at = |p: &PartitionOffsets| {
            vec![
                ("topic", p.topic.clone()),
                ("partition", p.partition.to_string()),
            ]
        };
        let of = |group: &str, p: &PartitionOffsets| {
            let mut labels = vec![("consumergroup", group.to_owned())];
            labels.extend(at(p));
            labels
        };
        let every = || {
            snapshots
                .iter()
                .flat_map(|(group, s)| s.partitions.iter().map(move |p| (*group, p)))
        };
        // A topic two groups read (`pizza-ordered`) is one series per partition, not two.
        let mut ends: BTreeMap<(&str, i32), &PartitionOffsets> = BTreeMap::new();
        for (_, p) in every() {
            ends.insert((p.topic.as_str(), p.partition), p);
        }
        gauge(
            &mut encoder,
            "kafka_topic_partition_current_offset",
            "Offset the next event of the partition will get (its high watermark)",
            ends.values().map(|p| (at(p), p.newest)),
        )?;
        gauge(
            &mut encoder,
            "kafka_topic_partition_oldest_offset",
            "Offset of the oldest event the partition still keeps",
            ends.values().map(|p| (at(p), p.oldest)),
        )?;
        gauge(
            &mut encoder,
            "kafka_consumergroup_current_offset",
            "Offset the group has committed on the partition (left out while it has committed none)",
            every().filter_map(|(group, p)| p.committed.map(|offset| (of(group, p), offset))),
        )?;
        gauge(
            &mut encoder,
            "kafka_consumergroup_lag",
            "Events on the partition the group has not committed yet",
            every().map(|(group, p)| (of(group, p), p.lag())),
        )?;
        let mut sums: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        for (group, p) in every() {
            *sums.entry((group, p.topic.as_str())).or_default() += p.lag();
        }
        gauge(
            &mut encoder,
            "kafka_consumergroup_lag_sum",
            "Events on the topic the group has not committed yet",
            sums.into_iter().map(|((group, topic), lag)| {
                let labels = vec![
                    ("consumergroup", group.to_owned()),
                    ("topic", topic.to_owned()),
                ];
                (labels, lag)
            }),
        )?;
        gauge(
            &mut encoder,
            "kafka_consumergroup_members",
            "Members of the group",
            snapshots.iter().filter_map(|(group, s)| {
                let members = s.members.as_ref()?.len();
                let labels = vec![("consumergroup", (*group).to_owned())];
                Some((labels, i64::try_from(members).unwrap_or(i64::MAX)))
            }),
        )?;
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
    fn encodes_kafka_exporter_names_and_labels_for_every_group() {
        let lag = BrokerLag::new(
            &KafkaSettings {
                properties: vec![("bootstrap.servers".into(), "127.0.0.1:9".into())],
                ksqldb: None,
            },
            "pizza_client_status",
            vec![
                ("pizza_bake".into(), vec!["pizza-assembled".into()]),
                ("pizza_assemble".into(), vec!["pizza-ordered".into()]),
                ("pizza_delivery".into(), vec!["pizza-ordered".into()]),
            ],
        );
        let member = crate::kafka::Member {
            client_id: "pizza_client_bake".into(),
            host: "127.0.0.1".into(),
            partitions: None,
        };
        let [bake, assemble, delivery] = &lag.groups[..] else {
            panic!("three groups");
        };
        *locked(&bake.snapshot) = GroupOffsets {
            partitions: vec![
                at(Some(4)),
                PartitionOffsets {
                    partition: 1,
                    ..at(None)
                },
            ],
            members: Some(vec![member]),
        };
        // Stopped: no member, and everything sent since its last commit waits.
        let ordered = |committed| PartitionOffsets {
            topic: "pizza-ordered".into(),
            committed,
            ..at(None)
        };
        *locked(&assemble.snapshot) = GroupOffsets {
            partitions: vec![ordered(Some(3))],
            members: Some(Vec::new()),
        };
        *locked(&delivery.snapshot) = GroupOffsets {
            partitions: vec![ordered(Some(7))],
            members: None,
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
            "kafka_consumergroup_lag_sum{consumergroup=\"pizza_assemble\",topic=\"pizza-ordered\"} 4",
            "kafka_consumergroup_members{consumergroup=\"pizza_assemble\"} 0",
            "kafka_consumergroup_lag_sum{consumergroup=\"pizza_delivery\",topic=\"pizza-ordered\"} 0",
            "# TYPE kafka_consumergroup_lag gauge",
        ] {
            assert!(page.lines().any(|l| l == line), "{line:?} not in:\n{page}");
        }
        assert!(
            !page.contains("current_offset{consumergroup=\"pizza_bake\",topic=\"pizza-assembled\",partition=\"1\"}"),
            "nothing committed is not shown as an offset"
        );
        assert!(
            !page.contains("members{consumergroup=\"pizza_delivery\"}"),
            "members the broker did not describe are left out, not shown as none"
        );
        let ends = page.lines().filter(|l| {
            l.starts_with("kafka_topic_partition_current_offset{topic=\"pizza-ordered\"")
        });
        assert_eq!(
            ends.count(),
            1,
            "a topic two groups read is one series:\n{page}"
        );
    }
}
