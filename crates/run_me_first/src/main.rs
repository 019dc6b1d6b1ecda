//! Creates the shop's topics with `[kafka-topic-config]` and, when the Kafka configuration has a
//! `[ksqldb]` section, its ksqlDB streams and persistent queries. Safe to run again: what exists
//! is kept. The original's `run_me_first.py`.
//!
//! `run_me_first --services` prints the names of the shop's programs, in start order, for the
//! scripts.

use std::process::ExitCode;

use common::kafka::{create_topics, TopicOutcome};
use common::ksqldb::{KsqlDb, KsqlDbError};
use common::logging::error_chain;
use common::services::ServiceName;
use common::settings::{Settings, Topic};

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--services") {
        let names: Vec<&str> = ServiceName::ALL.iter().map(|s| s.as_str()).collect();
        println!("{}", names.join(" "));
        return ExitCode::SUCCESS;
    }
    common::app::run("run_me_first", |settings, shutdown| async move {
        let created = tokio::select! {
            created = create_topics(&settings.kafka, &settings.sys, &Topic::ALL) => created?,
            () = shutdown.cancelled() => anyhow::bail!("interrupted before the topics were created"),
        };
        let config = settings.sys.topic_config;
        for (topic, outcome) in created {
            match outcome {
                TopicOutcome::Created => tracing::info!(
                    "Topic '{topic}' created with {} partition(s)",
                    config.num_partitions
                ),
                TopicOutcome::AlreadyThere => {
                    tracing::info!("Topic '{topic}' already exists, kept as it is")
                }
            }
        }
        submit_ksql(&settings).await;
        Ok(())
    })
}

/// ksqlDB is optional: when it does not answer, the services write the statuses themselves.
async fn submit_ksql(settings: &Settings) {
    let Some(ksqldb) = &settings.kafka.ksqldb else {
        tracing::info!("No [ksqldb] section: the services write pizza-status themselves");
        return;
    };
    let client = KsqlDb::new(ksqldb);
    match client.submit(&settings.sys.topics).await {
        Ok(submitted) => {
            tracing::info!("ksqlDB streams created (or already there)");
            for query in &submitted {
                tracing::info!("ksqlDB query submitted: {query}");
            }
            if submitted.is_empty() {
                tracing::info!("ksqlDB queries already running");
            }
        }
        Err(error @ KsqlDbError::Unreachable { .. }) => tracing::warn!(
            "{}; the services write pizza-status themselves",
            error_chain(&error)
        ),
        Err(error) => tracing::error!(
            "{}; the services write the statuses ksqlDB does not",
            error_chain(&error)
        ),
    }
}
