//! Shared pieces of the pizza shop's services. Each service is little more than its handler (see
//! [`runtime::service::Service`]): the consume loop, configuration, events, partitioning, metrics,
//! logging and shutdown live here, once. The state stores are the `store` crate, and the ksqlDB
//! REST client the `ksqldb` crate, so that a service links a database or an HTTP client only if
//! it uses one.
//!
//! A module per concern:
//! - [`domain`]: the shop itself, without I/O: the events ([`domain::events`]), order statuses
//!   and the rule between them ([`domain::status`]), the topics ([`domain::topics`]), and the five
//!   programs with what each reads and writes ([`domain::wiring`]).
//! - [`runtime`]: what a running program needs: start and exit ([`runtime::app`]), the
//!   [`Service`](runtime::service::Service) trait and its context, logging, shutdown, periodic
//!   chores, backoff.
//! - [`kafka`]: everything that talks to Kafka, and the Java-compatible partitioner
//!   ([`kafka::partitioner`]).
//! - [`contracts`]: what each topic's events must hold, from the schemas in `schemas/`.
//! - [`settings`]: the configuration files and the environment variables over them.
//! - [`metrics`]: the Prometheus metrics and the endpoint that serves them.

pub mod contracts;
pub mod domain;
pub mod kafka;
pub mod metrics;
pub mod runtime;
pub mod settings;
