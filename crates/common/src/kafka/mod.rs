//! Everything that talks to Kafka: client settings, the keyed producer, what a service sends,
//! the one consume loop every service runs, topic creation, and the partitioner that says where
//! an order's events are ([`partitioner`]).

mod acks;
mod client;
mod dead_letter;
mod dead_letter_tally;
mod event_log;
mod group_offsets;
mod inbound;
mod lookup;
mod offsets;
mod outbound;
pub mod partitioner;
mod producer;
mod query_watch;
mod rebalance;
mod runner;
mod sink;
mod topics;

pub use acks::Ack;
use client::client_config_for_lookup;
pub use client::{admin_config, consumer_config, producer_config, with_host};
pub use dead_letter::DeadLetter;
pub use dead_letter_tally::{DeadLetterTally, UNKNOWN_SOURCE};
pub use group_offsets::{
    decode_assignment, GroupOffsets, GroupOffsetsError, GroupReader, Member, PartitionOffsets,
};
pub use inbound::{BoxError, HandleError, Inbound};
pub use lookup::{keyed_event_since, LookupError};
pub use outbound::{Outbound, StageSent};
pub use producer::{acknowledged, EventProducer, Landed, ProduceError};
pub use runner::{run_consumer, Handler, RunnerError};
pub use sink::EventSink;
#[cfg(any(test, feature = "testing"))]
pub use sink::{inbound, test_settings, RecordingSink, Sent};
pub use topics::{create_topics, ensure_topic, TopicError, TopicOutcome};
