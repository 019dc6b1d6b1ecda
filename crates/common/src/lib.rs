//! Shared pieces of the pizza shop's services. Each service is little more than its handler (see
//! [`service::Service`]): the consume loop, configuration, events, partitioning, state stores,
//! logging and shutdown live here, once.

pub mod app;
pub mod backoff;
pub mod context;
pub mod events;
pub mod kafka;
pub mod ksqldb;
pub mod logging;
pub mod metrics;
pub mod partitioner;
pub mod periodic;
pub mod service;
pub mod services;
pub mod settings;
pub mod shutdown;
pub mod status;
pub mod store;
