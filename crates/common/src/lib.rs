//! Shared pieces of the pizza shop's services. Each service is little more than its handler (see
//! [`service::Service`]): the consume loop, configuration, events, partitioning, metrics,
//! logging and shutdown live here, once. The state stores are the `store` crate, and the ksqlDB
//! REST client the `ksqldb` crate, so that a service links a database or an HTTP client only if
//! it uses one.
//!
//! A module per concern; each imports only those listed before it:
//! - [`domain`]: the shop itself, without I/O: the events ([`domain::events`]), order statuses
//!   and the rule between them ([`domain::status`]), the topics ([`domain::topics`]), and the five
//!   programs with what each reads and writes ([`domain::wiring`]).
//! - [`contracts`]: what each topic's events must hold, from the schemas in `schemas/`.
//! - [`settings`]: the configuration files and the environment variables over them.
//! - [`runtime`]: what any running program needs: start and exit ([`runtime::app`]), logging,
//!   shutdown, periodic chores, backoff.
//! - [`metrics`]: the Prometheus metrics and the endpoint that serves them.
//! - [`kafka`]: everything that talks to Kafka: the producer and the one way to send
//!   ([`kafka::EventSink`]), consumed events, readers of offsets and lag, and the Java-compatible
//!   partitioner ([`kafka::partitioner`]).
//! - [`service`]: a kitchen service's declaration ([`service::Service`]), its context and the one
//!   consume loop.

pub mod contracts;
pub mod domain;
pub mod kafka;
pub mod metrics;
pub mod runtime;
pub mod service;
pub mod settings;
