//! Reading what a topic holds, for people looking into the history: the latest events of a topic
//! (the shop floor's drill-down) and every event of one order (its lineage). A reader joins no
//! group and commits nothing, so it disturbs no one, and every read is bounded: by a number of
//! events and by a deadline. Blocking: call it from a blocking thread.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::client_config_for_lookup;
use super::partitioner::partition_for;
use crate::settings::KafkaSettings;

/// One event as it is on its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// When the broker has it written (the producer's create time), in ms since the epoch.
    pub time_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, String)>,
}

impl Record {
    fn of(message: &rdkafka::message::BorrowedMessage<'_>) -> Self {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        let value = h.value.map(String::from_utf8_lossy).unwrap_or_default();
                        (h.key.to_owned(), value.into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            time_ms: message.timestamp().to_millis(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot read topic '{topic}'")]
    Kafka {
        topic: String,
        #[source]
        source: Box<KafkaError>,
    },
    #[error("topic '{0}' does not exist on the cluster")]
    NoTopic(String),
    #[error("topic '{topic}', partition #{partition}: nothing arrived for {seconds} s at offset {offset}, though the partition holds events up to offset {end}")]
    Stalled {
        topic: String,
        partition: i32,
        offset: i64,
        end: i64,
        seconds: u64,
    },
    #[error("stopped before the end of topic '{0}'")]
    Stopped(String),
}

/// A stretch of one partition to read: from `from` up to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    pub partition: i32,
    pub from: i64,
    pub end: i64,
}

/// A reader of topics; one client for every read it makes.
pub struct HistoryReader {
    consumer: BaseConsumer,
    /// How long one read may take, the broker's answers included.
    patience: Duration,
}

impl std::fmt::Debug for HistoryReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryReader")
            .field("patience", &self.patience)
            .finish_non_exhaustive()
    }
}

/// A partition to read, from where, up to the end it had when asked.
struct Span {
    partition: i32,
    from: i64,
    end: i64,
}

impl HistoryReader {
    pub fn new(
        kafka: &KafkaSettings,
        client_id: &str,
        patience: Duration,
    ) -> Result<Self, HistoryError> {
        let mut config = client_config_for_lookup(kafka, client_id);
        // It reads up to ends it knows, so a fetch that finds nothing yet has only the next
        // partition to wait for: a long wait (the demo's 250 ms) would be spent at each one.
        config.set("fetch.wait.max.ms", "10");
        let consumer = config.create().map_err(|source| HistoryError::Kafka {
            topic: String::new(),
            source: Box::new(source),
        })?;
        Ok(Self { consumer, patience })
    }

    fn failed(topic: &str) -> impl Fn(KafkaError) -> HistoryError + '_ {
        move |source| HistoryError::Kafka {
            topic: topic.to_owned(),
            source: Box::new(source),
        }
    }

    /// The partitions of `topic`, as the cluster's metadata has them now.
    pub fn partitions(&self, topic: &str) -> Result<Vec<i32>, HistoryError> {
        let metadata = self
            .consumer
            .fetch_metadata(Some(topic), self.patience)
            .map_err(Self::failed(topic))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(HistoryError::NoTopic(topic.to_owned()));
        }
        Ok(partitions)
    }

    /// The first and the next offset of each partition of `topic`: what it keeps.
    pub fn watermarks(&self, topic: &str) -> Result<Vec<(i32, i64, i64)>, HistoryError> {
        self.partitions(topic)?
            .into_iter()
            .map(|partition| {
                let (low, high) = self
                    .consumer
                    .fetch_watermarks(topic, partition, self.patience)
                    .map_err(Self::failed(topic))?;
                Ok((partition, low, high))
            })
            .collect()
    }

    /// The latest `limit` events of `topic`, newest first: up to `limit` from the end of each
    /// partition, then the newest of those by time.
    pub fn latest(&self, topic: &str, limit: usize) -> Result<Vec<Record>, HistoryError> {
        let back = i64::try_from(limit).unwrap_or(i64::MAX);
        let spans = self
            .watermarks(topic)?
            .into_iter()
            .filter(|(_, low, high)| high > low)
            .map(|(partition, low, high)| Span {
                partition,
                from: (high - back).max(low),
                end: high,
            })
            .collect();
        let mut records = self.read(topic, spans, |_| true, usize::MAX)?;
        records.sort_by(|a, b| {
            (b.time_ms, b.partition, b.offset).cmp(&(a.time_ms, a.partition, a.offset))
        });
        records.truncate(limit);
        Ok(records)
    }

    /// Every event keyed `key` on `topic` from `since_ms` on, oldest first, read from the
    /// partition the key belongs to (as the shop's producers place it) and no further than
    /// `scanned` events past that time.
    pub fn keyed(
        &self,
        topic: &str,
        key: &str,
        since_ms: i64,
        scanned: usize,
    ) -> Result<Vec<Record>, HistoryError> {
        let count = i32::try_from(self.partitions(topic)?.len()).unwrap_or(i32::MAX);
        let partition = partition_for(key.as_bytes(), count);
        let mut at_time = TopicPartitionList::new();
        at_time
            .add_partition_offset(topic, partition, Offset::Offset(since_ms))
            .map_err(Self::failed(topic))?;
        let starts = self
            .consumer
            .offsets_for_times(at_time, self.patience)
            .map_err(Self::failed(topic))?;
        let Some(Offset::Offset(from)) = starts.elements().first().map(|e| e.offset()) else {
            // Nothing was written there at or after that time.
            return Ok(Vec::new());
        };
        let (_, end) = self
            .consumer
            .fetch_watermarks(topic, partition, self.patience)
            .map_err(Self::failed(topic))?;
        let span = Span {
            partition,
            from,
            end,
        };
        self.read(
            topic,
            vec![span],
            |record| record.key.as_deref() == Some(key.as_bytes()),
            scanned,
        )
    }

    /// Every event of `topic` in `stretches`, each partition in offset order, handed to `each`
    /// as it arrives. A whole history may take minutes, so there is no deadline; but a partition
    /// from which nothing arrives for the reader's patience while events remain fails the scan
    /// ([`HistoryError::Stalled`]), and `stop` ends it early ([`HistoryError::Stopped`]).
    pub fn scan(
        &self,
        topic: &str,
        stretches: &[Stretch],
        stop: &dyn Fn() -> bool,
        mut each: impl FnMut(Record),
    ) -> Result<(), HistoryError> {
        let mut assignment = TopicPartitionList::new();
        let mut at: HashMap<i32, (i64, i64)> = HashMap::new();
        for stretch in stretches.iter().filter(|s| s.from < s.end) {
            assignment
                .add_partition_offset(topic, stretch.partition, Offset::Offset(stretch.from))
                .map_err(Self::failed(topic))?;
            at.insert(stretch.partition, (stretch.from, stretch.end));
        }
        if at.is_empty() {
            return Ok(());
        }
        self.consumer
            .assign(&assignment)
            .map_err(Self::failed(topic))?;
        let scanned = (|| {
            let mut last_arrival = Instant::now();
            while !at.is_empty() {
                if stop() {
                    return Err(HistoryError::Stopped(topic.to_owned()));
                }
                match self.consumer.poll(Duration::from_millis(100)) {
                    Some(Ok(message)) => {
                        last_arrival = Instant::now();
                        let partition = message.partition();
                        let Some((next, end)) = at.get_mut(&partition) else {
                            continue;
                        };
                        if message.offset() < *end {
                            each(Record::of(&message));
                        }
                        *next = message.offset() + 1;
                        if *next >= *end {
                            at.remove(&partition);
                        }
                    }
                    Some(Err(error)) => return Err(Self::failed(topic)(error)),
                    None if last_arrival.elapsed() > self.patience => {
                        let (partition, (offset, end)) = at
                            .iter()
                            .min_by_key(|(partition, _)| **partition)
                            .map(|(p, span)| (*p, *span))
                            .unwrap_or_default();
                        return Err(HistoryError::Stalled {
                            topic: topic.to_owned(),
                            partition,
                            offset,
                            end,
                            seconds: self.patience.as_secs(),
                        });
                    }
                    None => {}
                }
            }
            Ok(())
        })();
        let _ = self.consumer.unassign();
        scanned
    }

    /// Reads each span to its end, or `scanned` events in all, or until the patience runs out
    /// (what was read by then is what there is); keeps what `wanted` takes.
    fn read(
        &self,
        topic: &str,
        spans: Vec<Span>,
        wanted: impl Fn(&Record) -> bool,
        scanned: usize,
    ) -> Result<Vec<Record>, HistoryError> {
        let mut assignment = TopicPartitionList::new();
        let mut ends: HashMap<i32, i64> = HashMap::new();
        for span in spans.iter().filter(|s| s.from < s.end) {
            assignment
                .add_partition_offset(topic, span.partition, Offset::Offset(span.from))
                .map_err(Self::failed(topic))?;
            ends.insert(span.partition, span.end);
        }
        if ends.is_empty() {
            return Ok(Vec::new());
        }
        self.consumer
            .assign(&assignment)
            .map_err(Self::failed(topic))?;
        let deadline = Instant::now() + self.patience;
        let mut records = Vec::new();
        let mut seen = 0;
        while !ends.is_empty() && seen < scanned && Instant::now() < deadline {
            match self.consumer.poll(Duration::from_millis(50)) {
                Some(Ok(message)) => {
                    seen += 1;
                    let partition = message.partition();
                    let end = end_of(&spans, partition);
                    // What was written after the read began is left for the next one.
                    if message.offset() < end {
                        let record = Record::of(&message);
                        if wanted(&record) {
                            records.push(record);
                        }
                    }
                    if message.offset() + 1 >= end {
                        ends.remove(&partition);
                    }
                }
                Some(Err(error)) => return Err(Self::failed(topic)(error)),
                None => {}
            }
        }
        // The next read assigns afresh.
        let _ = self.consumer.unassign();
        Ok(records)
    }
}

fn end_of(spans: &[Span], partition: i32) -> i64 {
    spans
        .iter()
        .find(|s| s.partition == partition)
        .map_or(0, |s| s.end)
}
