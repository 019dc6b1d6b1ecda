//! Everything that talks to Kafka: client settings, the keyed producer and what a program sends
//! through it ([`EventSink`]), what one consumed event is ([`Inbound`]), the readers of groups'
//! offsets, lag and dead letters, topic creation, and the partitioner that says where an order's
//! events are ([`partitioner`]). The consume loop that uses them is [`crate::service`]'s.

mod acks;
mod broker_lag;
mod client;
mod dead_letter;
mod dead_letter_tally;
pub(crate) mod event_log;
mod group_offsets;
mod history;
mod inbound;
mod lookup;
mod outbound;
pub mod partitioner;
mod produce_error;
mod producer;
mod query_watch;
pub(crate) mod rebalance;
mod sink;
mod topics;

pub use acks::Ack;
pub use broker_lag::BrokerLag;
use client::client_config_for_lookup;
pub use client::{admin_config, consumer_config, producer_config, with_host};
pub use dead_letter::DeadLetter;
pub use dead_letter_tally::{DeadLetterTally, Tally, UNKNOWN_SOURCE};
pub use group_offsets::{
    decode_assignment, GroupOffsets, GroupOffsetsError, GroupReader, Member, PartitionOffsets,
};
pub use history::{HistoryError, HistoryReader, Record, Stretch};
pub use inbound::{BoxError, HandleError, Inbound};
pub use lookup::{keyed_event_since, LookupError};
pub use outbound::Outbound;
pub use produce_error::ProduceError;
pub use producer::{acknowledged, EventProducer, Landed};
#[cfg(any(test, feature = "testing"))]
pub use sink::{inbound, test_settings, RecordingSink, Sent};
pub use sink::{EventSink, StageSent};
pub use topics::{
    create_topics, ensure_topic, history_line, keeps_history, retention_of, Creation, HistoryLine,
    Retention, TopicError, TopicOutcome, RETENTION_MS,
};
