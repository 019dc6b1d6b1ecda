//! Creates the shop's topics with the configured partitions and replication factor, and, when the
//! Kafka configuration has a `[ksqldb]` section, its ksqlDB streams and queries. Safe to run
//! again. The original's `run_me_first.py`.

mod ksqldb;

use std::process::ExitCode;

fn main() -> ExitCode {
    common::app::run("run_me_first", |startup| async move {
        let created = tokio::select! {
            created = common::kafka::create_topics(&startup.kafka, &startup.sys) => created?,
            () = startup.shutdown.cancelled() => anyhow::bail!("interrupted before the topics were created"),
        };
        tracing::info!(
            "{} topic(s) created, the others already existed",
            created.len()
        );
        if let Some(settings) = &startup.kafka.ksqldb {
            ksqldb::submit(settings).await?;
        }
        Ok(())
    })
}
