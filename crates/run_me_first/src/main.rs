//! Creates the shop's topics with `[kafka-topic-config]` and, when the Kafka configuration has a
//! `[ksqldb]` section, its ksqlDB streams and persistent queries. Safe to run again: what exists
//! is kept. The original's `run_me_first.py`. The event topics are the history `rebuild` reads,
//! so they are created to keep it for good, and one line says how long the cluster keeps it when
//! that is not the shop's choice (topics that existed, a cluster that refuses).
//!
//! `run_me_first --services` prints the names of the shop's programs, in start order, for the
//! scripts; `run_me_first --check-contracts DIR` checks the topics' schemas in DIR, as a broker
//! started on that folder would enforce them (`./start_demo.sh` does, before it starts one).

use std::process::ExitCode;

use common::contracts::{Contracts, FOLDER};
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{
    create_topics, history_line, keeps_history, retention_of, Creation, Retention, TopicOutcome,
};
use common::runtime::logging::error_chain;
use common::settings::Settings;
use ksqldb::{queries, stream_name, KsqlDb, KsqlDbError};

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--services") {
        let names: Vec<&str> = ServiceName::ALL.iter().map(|s| s.as_str()).collect();
        println!("{}", names.join(" "));
        return ExitCode::SUCCESS;
    }
    if std::env::args().nth(1).as_deref() == Some("--check-contracts") {
        let folder = std::env::args().nth(2).unwrap_or_else(|| FOLDER.to_owned());
        return check_contracts(std::path::Path::new(&folder));
    }
    common::runtime::app::run("run_me_first", |settings, shutdown| async move {
        let created = tokio::select! {
            created = create_topics(&settings.kafka, &settings.sys, &Topic::ALL) => created?,
            () = shutdown.cancelled() => anyhow::bail!("interrupted before the topics were created"),
        };
        // The original's lines, topic by topic. The topics are asked for in one request, so the
        // lines follow its answer; on a cluster with fewer brokers than the configured
        // replication factor a warning before them gives the factor used.
        let config = settings.sys.topic_config;
        for topic in Topic::ALL {
            let name = settings.sys.topics.name(topic);
            tracing::info!(
                "Creating topic {} as '{name}' with {} partition(s) and replication factor {}...",
                topic.config_key(),
                config.num_partitions,
                config.replication_factor
            );
            match created.iter().find(|creation| creation.name == name) {
                Some(Creation {
                    outcome: TopicOutcome::Created,
                    ..
                }) => tracing::info!("Done!"),
                Some(Creation {
                    outcome: TopicOutcome::AlreadyThere,
                    ..
                }) => tracing::info!("Topic already exists!"),
                None => tracing::warn!("The cluster did not say what became of topic '{name}'"),
            }
        }
        tokio::select! {
            () = say_how_long_the_history_is_kept(&settings, &created) => {}
            () = shutdown.cancelled() => anyhow::bail!("interrupted before the topics' retention was read"),
        }
        submit_ksql(&settings).await;
        Ok(())
    })
}

/// One line after the topics' own: how long the history topics keep their events. Those this
/// run created with `retention.ms = -1` keep them for good; the others' retention is the
/// cluster's to say. Not knowing is a warning, never a failure: the topics are there either way.
async fn say_how_long_the_history_is_kept(settings: &Settings, created: &[Creation]) {
    let history: Vec<&Creation> = created
        .iter()
        .filter(|creation| keeps_history(creation.topic))
        .collect();
    let refused = history
        .iter()
        .find_map(|creation| creation.retention_refused);
    let mut retentions: Vec<(String, Retention)> = history
        .iter()
        .filter(|creation| creation.kept_for_good())
        .map(|creation| (creation.name.clone(), Retention::ForGood))
        .collect();
    let to_read: Vec<String> = history
        .iter()
        .filter(|creation| !creation.kept_for_good())
        .map(|creation| creation.name.clone())
        .collect();
    if !to_read.is_empty() {
        match retention_of(&settings.kafka, &settings.sys, &to_read).await {
            Ok(read) => retentions.extend(read),
            Err(error) => {
                tracing::warn!(
                    "How long the cluster keeps the shop's history is unknown ({}): a rebuild can bring back only the orders it still holds",
                    error_chain(&error)
                );
                return;
            }
        }
    }
    let line = history_line(&retentions, refused);
    if line.kept_for_good {
        tracing::info!("{}", line.text);
    } else {
        tracing::warn!("{}", line.text);
    }
}

/// Every shop topic has a schema in `folder` and each compiles; one line for the first that
/// does not, naming its file.
fn check_contracts(folder: &std::path::Path) -> ExitCode {
    match Contracts::load(folder) {
        Ok(contracts) => {
            let files: Vec<String> = contracts
                .iter()
                .map(|c| format!("{} (version {})", c.file, c.version()))
                .collect();
            println!("Contracts in {}: {}", folder.display(), files.join(", "));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("run_me_first: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// ksqlDB is optional: when it does not answer, the services write the statuses themselves.
async fn submit_ksql(settings: &Settings) {
    let Some(ksqldb) = &settings.kafka.ksqldb else {
        tracing::info!("No [ksqldb] section: the services write pizza-status themselves");
        return;
    };
    let topics = &settings.sys.topics;
    // The original's names: a stream per topic, PERSISTENT_QUERY_<stream> per query. The streams
    // go in one request, which follows these lines.
    for topic in Topic::STAGES.into_iter().chain([Topic::Status]) {
        tracing::info!("Creating ksqlDB: {}...", stream_name(topics.name(topic)));
    }
    let client = KsqlDb::new(ksqldb);
    match client.submit(topics).await {
        Ok(submitted) => {
            for (stage, query) in queries(topics) {
                let name = format!("PERSISTENT_QUERY_{}", stream_name(topics.name(stage)));
                if submitted.contains(&query) {
                    tracing::info!("Creating ksqlDB: {name}...");
                } else {
                    tracing::info!("ksqlDB: {name} is already running, not submitted again");
                }
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
