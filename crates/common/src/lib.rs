//! Shared pieces of the pizza shop's services. Each service is little more than its
//! [`kafka::Handler`]: the consume loop, configuration, events, partitioning, state stores,
//! logging and shutdown live here, once.

pub mod app;
pub mod context;
pub mod events;
pub mod kafka;
pub mod logging;
pub mod partitioner;
pub mod periodic;
pub mod settings;
pub mod shutdown;
pub mod status;
pub mod store;
