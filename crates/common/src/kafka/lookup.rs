//! Finds out whether a keyed event reached a topic since a given time, for an instance that
//! takes over work another one may have finished without saying so: the topic is the record of
//! what was done, so it is asked rather than guessed.
//!
//! Only the key's partition is read (every producer of the shop places a key the same way, see
//! [`crate::partitioner`]), from the first event at or after the time to the partition's end.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::client_config_for_lookup;
use crate::partitioner::partition_for;
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
    #[error("reading topic '{topic}' up to offset {end} took longer than {patience:?}")]
    Slow {
        topic: String,
        end: i64,
        patience: Duration,
    },
}

/// How long one look may take before it fails (and its caller retries).
const PATIENCE: Duration = Duration::from_secs(10);

/// Whether `topic` holds an event keyed `key` written at or after `since_ms`. Blocking: call it
/// from a blocking thread.
pub fn keyed_event_since(
    kafka: &KafkaSettings,
    client_id: &str,
    topic: &str,
    key: &str,
    since_ms: i64,
) -> Result<bool, LookupError> {
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
    let count = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len());
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    if count == 0 {
        return Err(LookupError::NoPartitions(topic.to_owned()));
    }
    let partition = partition_for(key.as_bytes(), count);

    let mut at_time = TopicPartitionList::new();
    at_time
        .add_partition_offset(topic, partition, Offset::Offset(since_ms))
        .map_err(failed)?;
    let start = consumer
        .offsets_for_times(at_time, PATIENCE)
        .map_err(failed)?
        .elements()
        .first()
        .map(|e| e.offset())
        .unwrap_or(Offset::End);
    let Offset::Offset(start) = start else {
        // Nothing was written at or after that time.
        return Ok(false);
    };
    let (_, end) = consumer
        .fetch_watermarks(topic, partition, PATIENCE)
        .map_err(failed)?;
    if start >= end {
        return Ok(false);
    }
    let mut from = TopicPartitionList::new();
    from.add_partition_offset(topic, partition, Offset::Offset(start))
        .map_err(failed)?;
    consumer.assign(&from).map_err(failed)?;
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        if std::time::Instant::now() > deadline {
            return Err(LookupError::Slow {
                topic: topic.to_owned(),
                end,
                patience: PATIENCE,
            });
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                if message.key() == Some(key.as_bytes()) {
                    return Ok(true);
                }
                if message.offset() + 1 >= end {
                    return Ok(false);
                }
            }
            Some(Err(error)) => return Err(failed(error)),
            None => {}
        }
    }
}
