//! The shop's integration tests, one module per concern, in one test binary so the suite links
//! librdkafka, OpenSSL and SQLite once. Each test starts its own throwaway broker on a free port
//! and the real binaries as processes (see the `pizza_tests` harness); which tests may run beside
//! which is the harness's `gate`. The catalogue of what each module shows is
//! [`tests/README.md`](../README.md).

mod browser;
mod chores;
mod contracts;
mod database_outage;
mod demo_scripts;
mod faults;
mod history_kept;
mod hostile_clients;
mod ksqldb;
mod lineage;
mod local_broker;
mod metrics;
mod multi_host;
mod original_config;
mod partitions_added;
mod pipeline;
mod producer_failed;
mod push;
mod rebuild;
mod secured_cluster;
mod shop_floor;
mod shutdown;
mod web_faults;
mod web_load;
mod workspace_layout;
