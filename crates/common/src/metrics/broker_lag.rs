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
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::with_host;
use crate::settings::{ClientRole, KafkaSettings};

/// Each request to the broker gives up after this; a scrape waits for at most all of them.
const PATIENCE: Duration = Duration::from_secs(3);

/// One partition of a topic the group reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PartitionOffsets {
    topic: String,
    partition: i32,
    oldest: i64,
    /// The high watermark: the offset the next event will get.
    newest: i64,
    /// `None` while the group has committed nothing there.
    committed: Option<i64>,
}

impl PartitionOffsets {
    /// Events the group has still to handle. With nothing committed the group reads from the
    /// oldest event (`auto.offset.reset = earliest`), so every event still kept is waiting.
    fn lag(&self) -> i64 {
        (self.newest - self.committed.unwrap_or(self.oldest)).max(0)
    }
}

#[derive(Debug, Default)]
struct Snapshot {
    partitions: Vec<PartitionOffsets>,
    /// `None` when the broker would not describe the group.
    members: Option<usize>,
}

pub struct BrokerLag {
    group: String,
    topics: Vec<String>,
    config: rdkafka::ClientConfig,
    /// Created at the first scrape and kept: it joins nothing (it never subscribes), it only
    /// asks for the group's committed offsets, so it disturbs no member's assignment.
    reader: Mutex<Option<BaseConsumer>>,
    snapshot: Mutex<Snapshot>,
    failing: Mutex<bool>,
}

#[derive(Debug, thiserror::Error)]
enum LagError {
    #[error("cannot create the client that reads the group's offsets")]
    Create(#[source] KafkaError),
    #[error("cannot read the partitions of '{topic}'")]
    Metadata {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot read the committed offsets of group '{group}'")]
    Committed {
        group: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot read the offsets of {topic}/{partition}")]
    Watermarks {
        topic: String,
        partition: i32,
        #[source]
        source: KafkaError,
    },
}

/// A collector must be `Debug`; the client inside is not.
impl std::fmt::Debug for BrokerLag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerLag")
            .field("group", &self.group)
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
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
        let mut config = kafka.client_config(ClientRole::Consumer);
        config.set("group.id", group);
        crate::settings::set_default(
            &mut config,
            "client.id",
            &(with_host(client_id) + "-metrics"),
        );
        config.set("enable.auto.commit", "false");
        config.set("enable.auto.offset.store", "false");
        Self {
            group: group.to_owned(),
            topics,
            config,
            reader: Mutex::new(None),
            snapshot: Mutex::new(Snapshot::default()),
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
        let result = self.read();
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
                        crate::logging::error_chain(&error)
                    );
                }
                *failing = true;
                *locked(&self.snapshot) = Snapshot::default();
            }
        }
    }

    fn read(&self) -> Result<Snapshot, LagError> {
        let mut reader = locked(&self.reader);
        let consumer = match reader.take() {
            Some(consumer) => consumer,
            None => self.config.create().map_err(LagError::Create)?,
        };
        // Its queue holds only the client's own notices (errors, logs); nothing else reads it.
        while consumer.poll(Duration::ZERO).is_some() {}
        let snapshot = self.read_with(&consumer);
        *reader = Some(consumer);
        snapshot
    }

    fn read_with(&self, consumer: &BaseConsumer) -> Result<Snapshot, LagError> {
        let mut list = TopicPartitionList::new();
        for topic in &self.topics {
            let metadata = consumer
                .fetch_metadata(Some(topic), PATIENCE)
                .map_err(|source| LagError::Metadata {
                    topic: topic.clone(),
                    source,
                })?;
            for found in metadata.topics().iter().filter(|t| t.name() == topic) {
                for partition in found.partitions() {
                    list.add_partition(topic, partition.id());
                }
            }
        }
        let committed = consumer
            .committed_offsets(list, PATIENCE)
            .map_err(|source| LagError::Committed {
                group: self.group.clone(),
                source,
            })?;
        let mut partitions = Vec::new();
        for element in committed.elements() {
            let (topic, partition) = (element.topic(), element.partition());
            let (oldest, newest) = consumer
                .fetch_watermarks(topic, partition, PATIENCE)
                .map_err(|source| LagError::Watermarks {
                    topic: topic.to_owned(),
                    partition,
                    source,
                })?;
            let committed = match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            };
            partitions.push(PartitionOffsets {
                topic: topic.to_owned(),
                partition,
                oldest,
                newest,
                committed,
            });
        }
        partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        // Not every cluster describes groups to every client; the lag does not depend on it.
        let members = consumer
            .fetch_group_list(Some(&self.group), PATIENCE)
            .ok()
            .and_then(|list| {
                list.groups()
                    .iter()
                    .find(|g| g.name() == self.group)
                    .map(|g| g.members().len())
            });
        Ok(Snapshot {
            partitions,
            members,
        })
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
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = locked(&self.snapshot);
        let group = || ("consumergroup", self.group.clone());
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
        if let Some(members) = snapshot.members {
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
    fn lag_counts_from_the_commit_or_from_the_oldest_event_kept() {
        assert_eq!(at(Some(7)).lag(), 0);
        assert_eq!(at(Some(4)).lag(), 3);
        assert_eq!(at(None).lag(), 5, "nothing committed: all kept events wait");
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
        *locked(&lag.snapshot) = Snapshot {
            partitions: vec![
                at(Some(4)),
                PartitionOffsets {
                    partition: 1,
                    ..at(None)
                },
            ],
            members: Some(1),
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
