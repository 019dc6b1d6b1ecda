//! Everything that talks to Kafka: client settings, the keyed producer, the one consume loop
//! every service runs, and topic creation.

mod client;
mod dead_letter;
mod gaps;
mod inbound;
mod offsets;
mod producer;
mod rebalance;
mod runner;
mod topics;

pub use client::{admin_config, consumer_config, producer_config, with_host};
pub use inbound::{HandleError, Inbound};
pub use producer::{EventProducer, ProduceError};
pub use runner::{run_consumer, Handler, RunnerError};
pub use topics::{create_topics, TopicError};
