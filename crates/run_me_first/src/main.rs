//! Creates the shop's topics with the configured partitions and replication factor; safe to run
//! again. The original's `run_me_first.py`.

use std::process::ExitCode;

fn main() -> ExitCode {
    common::app::run("run_me_first", |startup| async move {
        let created = common::kafka::create_topics(&startup.kafka, &startup.sys).await?;
        tracing::info!(
            "{} topic(s) created, the others already existed",
            created.len()
        );
        Ok(())
    })
}
