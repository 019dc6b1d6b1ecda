//! Finds out whether a keyed event reached a topic since a given time, for an instance that
//! takes over work another one may have finished without saying so: the topic is the record of
//! what was done, so it is asked rather than guessed.
//!
//! Every partition is read, from its first event at or after the time to its end: the key's
//! partition is where the shop's producers put it (see [`super::partitioner`]) only while the
//! partition count stays the same and nobody sets another `partitioner`, and this is a rare
//! path (a claim taken over), where being right matters more than reading less.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::client_config_for_lookup;
use crate::settings::KafkaSettings;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("cannot read topic '{topic}'")]
    Kafka {
        topic: String,
        #[source]
        source: Box<KafkaError>,
    },
    #[error("topic '{0}' has no partitions")]
    NoPartitions(String),
    #[error("reading topic '{topic}' to its end took longer than {patience:?} ({left} partition(s) left)")]
    Slow {
        topic: String,
        left: usize,
        patience: Duration,
    },
}

/// How long one look may take before it fails (and its caller retries).
const PATIENCE: Duration = Duration::from_secs(10);

/// The time (ms) of an event keyed `key` written to `topic` at or after `since_ms`, or `None`
/// when there is none. Blocking: call it from a blocking thread.
pub fn keyed_event_since(
    kafka: &KafkaSettings,
    client_id: &str,
    topic: &str,
    key: &str,
    since_ms: i64,
) -> Result<Option<i64>, LookupError> {
    let failed = |source| LookupError::Kafka {
        topic: topic.to_owned(),
        source: Box::new(source),
    };
    let consumer: BaseConsumer = client_config_for_lookup(kafka, client_id)
        .create()
        .map_err(failed)?;
    let metadata = consumer
        .fetch_metadata(Some(topic), PATIENCE)
        .map_err(failed)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(LookupError::NoPartitions(topic.to_owned()));
    }

    let mut at_time = TopicPartitionList::new();
    for partition in &partitions {
        at_time
            .add_partition_offset(topic, *partition, Offset::Offset(since_ms))
            .map_err(failed)?;
    }
    let starts = consumer
        .offsets_for_times(at_time, PATIENCE)
        .map_err(failed)?;
    // What is left to read: each partition with an event at or after the time, up to its end
    // as of now.
    let mut from = TopicPartitionList::new();
    let mut ends: HashMap<i32, i64> = HashMap::new();
    for element in starts.elements() {
        let Offset::Offset(start) = element.offset() else {
            // Nothing was written there at or after that time.
            continue;
        };
        let (_, end) = consumer
            .fetch_watermarks(topic, element.partition(), PATIENCE)
            .map_err(failed)?;
        if start < end {
            from.add_partition_offset(topic, element.partition(), Offset::Offset(start))
                .map_err(failed)?;
            ends.insert(element.partition(), end);
        }
    }
    if ends.is_empty() {
        return Ok(None);
    }
    consumer.assign(&from).map_err(failed)?;
    let deadline = std::time::Instant::now() + PATIENCE;
    while !ends.is_empty() {
        if std::time::Instant::now() > deadline {
            return Err(LookupError::Slow {
                topic: topic.to_owned(),
                left: ends.len(),
                patience: PATIENCE,
            });
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                if message.key() == Some(key.as_bytes()) {
                    return Ok(Some(message.timestamp().to_millis().unwrap_or(since_ms)));
                }
                if ends
                    .get(&message.partition())
                    .is_some_and(|end| message.offset() + 1 >= *end)
                {
                    ends.remove(&message.partition());
                }
            }
            Some(Err(error)) => return Err(failed(error)),
            None => {}
        }
    }
    Ok(None)
}
