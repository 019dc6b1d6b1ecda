//! Test harness: a throwaway broker, the shop's real binaries as processes, and helpers to feed
//! orders and watch what happens. Nothing here mocks Kafka.

pub mod binaries;
pub mod broker;
pub mod certificates;
pub mod gate;
pub mod ini;
pub mod ksqldb_double;
pub mod loadgen;
pub mod prometheus;
pub mod settled;
pub mod shop;
pub mod sse;
pub mod topic_reader;

pub use broker::Broker;
pub use shop::{Service, Shop};
/// The throwaway PostgreSQL server, shared with the store's contract suite.
pub use test_postgres as postgres;
