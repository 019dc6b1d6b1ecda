//! Shared pieces of the pizza shop's services. Each service is little more than its handler (see
//! [`service::Service`]): the consume loop, configuration, events, partitioning, metrics, logging
//! and shutdown live here, once. The state stores are the `store` crate, and the ksqlDB REST
//! client the `ksqldb` crate, so that a service links a database or an HTTP client only if it
//! uses one.

pub mod app;
pub mod backoff;
pub mod context;
pub mod events;
pub mod kafka;
pub mod logging;
pub mod metrics;
pub mod partitioner;
pub mod periodic;
pub mod service;
pub mod services;
pub mod settings;
pub mod shutdown;
pub mod status;
