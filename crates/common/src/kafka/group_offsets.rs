//! A consumer group as the broker sees it: its committed offsets against the two ends of each
//! partition it reads, and its members with the partitions each holds. Read with requests every
//! Kafka cluster answers (metadata, OffsetFetch, ListOffsets, DescribeGroups), through a client
//! that carries the group's id but never subscribes, so reading it disturbs no member. Unlike a
//! member's own view, this is there while no member runs, which is when it matters most.
//!
//! Every call blocks on the network: callers run it on a blocking thread.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use super::with_host;
use crate::settings::{ClientRole, KafkaSettings};

/// Each request to the broker gives up after this.
const PATIENCE: Duration = Duration::from_secs(3);

/// One partition of a topic the group reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOffsets {
    pub topic: String,
    pub partition: i32,
    /// The offset of the oldest event the partition still keeps.
    pub oldest: i64,
    /// The high watermark: the offset the next event will get.
    pub newest: i64,
    /// `None` while the group has committed nothing there.
    pub committed: Option<i64>,
}

impl PartitionOffsets {
    /// Events the group has still to handle. With nothing committed the group reads from the
    /// oldest event (`auto.offset.reset = earliest`), so every event still kept is waiting.
    pub fn lag(&self) -> i64 {
        (self.newest - self.committed.unwrap_or(self.oldest)).max(0)
    }
}

/// A member of the group, as the broker describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub client_id: String,
    pub host: String,
    /// `None` when the broker does not say which partitions the member holds.
    pub partitions: Option<Vec<(String, i32)>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupOffsets {
    /// Sorted by topic, then partition.
    pub partitions: Vec<PartitionOffsets>,
    /// `None` when the broker would not describe the group.
    pub members: Option<Vec<Member>>,
}

#[derive(Debug, thiserror::Error)]
pub enum GroupOffsetsError {
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

pub struct GroupReader {
    group: String,
    topics: Vec<String>,
    config: rdkafka::ClientConfig,
    /// Created at the first read and kept for the next.
    client: Mutex<Option<BaseConsumer>>,
}

impl std::fmt::Debug for GroupReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupReader")
            .field("group", &self.group)
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        // A panic mid-read leaves at worst a client to create again.
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl GroupReader {
    /// A reader of `group` on `topics`; its client is named after `client_id` with a
    /// `-<suffix>` so the broker's logs tell it from the group's members.
    pub fn new(
        kafka: &KafkaSettings,
        group: &str,
        client_id: &str,
        suffix: &str,
        topics: Vec<String>,
    ) -> Self {
        let mut config = super::client::base_config(kafka, ClientRole::Consumer);
        config.set("group.id", group);
        crate::settings::set_default(
            &mut config,
            "client.id",
            &format!("{}-{suffix}", with_host(client_id)),
        );
        config.set("enable.auto.commit", "false");
        config.set("enable.auto.offset.store", "false");
        Self {
            group: group.to_owned(),
            topics,
            config,
            client: Mutex::new(None),
        }
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Asks the broker; blocks for up to a few seconds per request.
    pub fn read(&self) -> Result<GroupOffsets, GroupOffsetsError> {
        self.with_client(|consumer| self.read_with(consumer))
    }

    /// Only the end of each partition of the topics, by topic and partition: how many events
    /// were ever written to each. Asks nothing of the group.
    pub fn ends(&self) -> Result<BTreeMap<(String, i32), i64>, GroupOffsetsError> {
        self.with_client(|consumer| {
            let mut ends = BTreeMap::new();
            for element in self.partitions(consumer)?.elements() {
                let (topic, partition) = (element.topic(), element.partition());
                let (_, newest) = self.watermarks(consumer, topic, partition)?;
                ends.insert((topic.to_owned(), partition), newest);
            }
            Ok(ends)
        })
    }

    fn with_client<T>(
        &self,
        read: impl FnOnce(&BaseConsumer) -> Result<T, GroupOffsetsError>,
    ) -> Result<T, GroupOffsetsError> {
        let mut client = locked(&self.client);
        let consumer = match client.take() {
            Some(consumer) => consumer,
            None => self.config.create().map_err(GroupOffsetsError::Create)?,
        };
        // Its queue holds only the client's own notices (errors, logs); nothing else reads it.
        while consumer.poll(Duration::ZERO).is_some() {}
        let read = read(&consumer);
        *client = Some(consumer);
        read
    }

    fn watermarks(
        &self,
        consumer: &BaseConsumer,
        topic: &str,
        partition: i32,
    ) -> Result<(i64, i64), GroupOffsetsError> {
        consumer
            .fetch_watermarks(topic, partition, PATIENCE)
            .map_err(|source| GroupOffsetsError::Watermarks {
                topic: topic.to_owned(),
                partition,
                source,
            })
    }

    fn partitions(&self, consumer: &BaseConsumer) -> Result<TopicPartitionList, GroupOffsetsError> {
        let mut list = TopicPartitionList::new();
        for topic in &self.topics {
            let metadata = consumer
                .fetch_metadata(Some(topic), PATIENCE)
                .map_err(|source| GroupOffsetsError::Metadata {
                    topic: topic.clone(),
                    source,
                })?;
            for found in metadata.topics().iter().filter(|t| t.name() == topic) {
                for partition in found.partitions() {
                    list.add_partition(topic, partition.id());
                }
            }
        }
        Ok(list)
    }

    fn read_with(&self, consumer: &BaseConsumer) -> Result<GroupOffsets, GroupOffsetsError> {
        let committed = consumer
            .committed_offsets(self.partitions(consumer)?, PATIENCE)
            .map_err(|source| GroupOffsetsError::Committed {
                group: self.group.clone(),
                source,
            })?;
        let mut partitions = Vec::new();
        for element in committed.elements() {
            let (topic, partition) = (element.topic(), element.partition());
            let (oldest, newest) = self.watermarks(consumer, topic, partition)?;
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
                    .map(|g| {
                        g.members()
                            .iter()
                            .map(|m| Member {
                                client_id: m.client_id().to_owned(),
                                host: m.client_host().trim_start_matches('/').to_owned(),
                                partitions: m.assignment().and_then(decode_assignment),
                            })
                            .collect()
                    })
            });
        Ok(GroupOffsets {
            partitions,
            members,
        })
    }
}

/// The partitions in a member's assignment, as the consumer protocol writes it: a version
/// (int16), then an array (int32 count) of topic (int16-length string) with an array of int32
/// partitions, then user data. `None` when there is nothing to read (a broker that does not
/// pass assignments on) or it is not that shape.
pub fn decode_assignment(bytes: &[u8]) -> Option<Vec<(String, i32)>> {
    let mut input = Reader(bytes);
    input.i16()?;
    let topics = input.i32()?;
    let mut partitions = Vec::new();
    for _ in 0..topics.max(0) {
        let length = usize::try_from(input.i16()?).ok()?;
        let topic = std::str::from_utf8(input.take(length)?).ok()?.to_owned();
        for _ in 0..input.i32()?.max(0) {
            partitions.push((topic.clone(), input.i32()?));
        }
    }
    partitions.sort();
    Some(partitions)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
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

    fn assignment(topics: &[(&str, &[i32])]) -> Vec<u8> {
        let mut bytes = vec![0, 1];
        bytes.extend((topics.len() as i32).to_be_bytes());
        for (topic, partitions) in topics {
            bytes.extend((topic.len() as i16).to_be_bytes());
            bytes.extend(topic.as_bytes());
            bytes.extend((partitions.len() as i32).to_be_bytes());
            for p in *partitions {
                bytes.extend(p.to_be_bytes());
            }
        }
        bytes.extend((-1i32).to_be_bytes());
        bytes
    }

    #[test]
    fn reads_the_consumer_protocols_assignment() {
        let bytes = assignment(&[("pizza-ordered", &[1, 0]), ("pizza-baked", &[0])]);
        assert_eq!(
            decode_assignment(&bytes),
            Some(vec![
                ("pizza-baked".into(), 0),
                ("pizza-ordered".into(), 0),
                ("pizza-ordered".into(), 1),
            ])
        );
        assert_eq!(decode_assignment(&assignment(&[])), Some(vec![]));
    }

    #[test]
    fn a_cut_or_empty_assignment_is_not_guessed_at() {
        let bytes = assignment(&[("pizza-ordered", &[0, 1])]);
        for cut in [0, 1, 5, 10, bytes.len() - 6] {
            assert_eq!(decode_assignment(&bytes[..cut]), None, "cut at {cut}");
        }
    }
}
