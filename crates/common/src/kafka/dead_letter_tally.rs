//! Counts the dead letters by the topic each came from (its `error.topic` header), and the
//! contract breaks among them by the topic whose contract was broken and who caught it
//! (`error.contract`, `error.caught_by`), reading the dead-letter topic on from where the last
//! count stopped. A reader that joins no group, so it
//! disturbs no one. Blocking: call it from a blocking thread.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::client_config_for_lookup;
use crate::settings::KafkaSettings;

const PATIENCE: Duration = Duration::from_secs(3);
/// One count reads for at most this long; the rest is read by the next.
const READ_FOR: Duration = Duration::from_secs(2);
/// Where a dead letter carries the topic it came from (see `dead_letter`).
const SOURCE_HEADER: &str = "error.topic";
/// Why, whose contract, and who caught a break (see `service::dead_letter`).
const REASON_HEADER: &str = "error.reason";
const CONTRACT_HEADER: &str = "error.contract";
const CAUGHT_HEADER: &str = "error.caught_by";
/// What a dead letter without that header is counted under.
pub const UNKNOWN_SOURCE: &str = "unknown";

pub struct DeadLetterTally {
    topic: String,
    config: rdkafka::ClientConfig,
    client: Option<BaseConsumer>,
    /// Where the next count starts, per partition.
    next: HashMap<i32, i64>,
    counts: Tally,
}

/// What the dead-letter topic holds, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Dead letters by the topic each came from.
    pub by_source: BTreeMap<String, u64>,
    /// Contract breaks by the topic whose contract was broken, then by who caught it
    /// (`producer`, `broker`).
    pub contract_breaks: BTreeMap<String, BTreeMap<String, u64>>,
}

impl std::fmt::Debug for DeadLetterTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterTally")
            .field("topic", &self.topic)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl DeadLetterTally {
    pub fn new(kafka: &KafkaSettings, topic: &str, client_id: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            config: client_config_for_lookup(kafka, client_id),
            client: None,
            next: HashMap::new(),
            counts: Tally::default(),
        }
    }

    /// The dead letters still kept, after reading what arrived since the last count.
    pub fn count(&mut self) -> Result<&Tally, KafkaError> {
        let consumer = match self.client.take() {
            Some(consumer) => consumer,
            None => self.config.create()?,
        };
        let read = self.read_on(&consumer);
        self.client = Some(consumer);
        read.map(|()| &self.counts)
    }

    fn read_on(&mut self, consumer: &BaseConsumer) -> Result<(), KafkaError> {
        let metadata = consumer.fetch_metadata(Some(&self.topic), PATIENCE)?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == self.topic)
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let mut list = TopicPartitionList::new();
        let mut ends = HashMap::new();
        for partition in partitions {
            let (oldest, newest) = consumer.fetch_watermarks(&self.topic, partition, PATIENCE)?;
            let next = self.next.get(&partition).copied().unwrap_or(0);
            if next < oldest {
                // Retention removed what was counted and more: start again from what is kept.
                self.counts = Tally::default();
                self.next.clear();
                return self.read_on(consumer);
            }
            if next < newest {
                list.add_partition_offset(&self.topic, partition, Offset::Offset(next))?;
                ends.insert(partition, newest);
            }
        }
        if ends.is_empty() {
            return Ok(());
        }
        consumer.assign(&list)?;
        let started = Instant::now();
        while !ends.is_empty() && started.elapsed() < READ_FOR {
            let Some(message) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let message = message?;
            let header = |name: &str| {
                message.headers().and_then(|headers| {
                    headers
                        .iter()
                        .find(|h| h.key == name)
                        .and_then(|h| h.value)
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                })
            };
            let source = header(SOURCE_HEADER).unwrap_or_else(|| UNKNOWN_SOURCE.to_owned());
            *self.counts.by_source.entry(source).or_default() += 1;
            if header(REASON_HEADER).as_deref() == Some(crate::metrics::CONTRACT_REASON) {
                let broken = header(CONTRACT_HEADER).unwrap_or_else(|| UNKNOWN_SOURCE.to_owned());
                let caught = header(CAUGHT_HEADER).unwrap_or_else(|| UNKNOWN_SOURCE.to_owned());
                *self
                    .counts
                    .contract_breaks
                    .entry(broken)
                    .or_default()
                    .entry(caught)
                    .or_default() += 1;
            }
            let partition = message.partition();
            self.next.insert(partition, message.offset() + 1);
            if ends
                .get(&partition)
                .is_some_and(|end| message.offset() + 1 >= *end)
            {
                ends.remove(&partition);
            }
        }
        consumer.unassign()?;
        Ok(())
    }
}
