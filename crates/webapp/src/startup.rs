//! Builds the app from configuration; the binary and the tests both start here.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use common::kafka::{producer_config, EventProducer};
use common::settings::{set_default, KafkaSettings, SysSettings};
use common::store::{open_order_store, StatusRules};
use tokio_util::sync::CancellationToken;

use crate::session::load_or_create_key;
use crate::state::AppState;

pub async fn build_state(
    kafka: &KafkaSettings,
    sys: SysSettings,
    shutdown: &CancellationToken,
) -> anyhow::Result<AppState> {
    let rules = StatusRules {
        completed: sys.orders_store.status_completed_when.clone(),
        unwatched: vec![sys.status.ids.something_wrong],
    };
    let store = open_order_store(&sys.orders_store, rules)?;
    let key = load_or_create_key(&sys.webapp.session_key_file)
        .with_context(|| format!("session key {}", sys.webapp.session_key_file.display()))?;
    let mut config = producer_config(kafka, &sys.client_ids.webapp);
    // A customer waits for the answer: give up after seconds, not librdkafka's five minutes.
    set_default(&mut config, "message.timeout.ms", "10000");
    let topics = [sys.topics.ordered.as_str(), sys.topics.status.as_str()];
    let producer = EventProducer::connect(&config, &topics, shutdown).await?;
    Ok(AppState {
        sys: Arc::new(sys),
        store,
        producer,
        key,
        logs_dir: PathBuf::from(common::logging::LOG_FOLDER),
    })
}
