//! Idempotent creation of the shop's topics: the original's `run_me_first.py`.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use super::admin_config;
use crate::settings::{KafkaSettings, SysSettings};

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("cannot create the Kafka admin client: {0}")]
    Client(#[source] KafkaError),
    #[error("cannot create topics: {0}")]
    Request(#[source] KafkaError),
    #[error("cannot create topic '{topic}': {code}")]
    Topic {
        topic: String,
        code: RDKafkaErrorCode,
    },
}

/// Creates every topic that does not exist yet; existing topics are left as they are. Returns the
/// names of the topics it created.
pub async fn create_topics(
    kafka: &KafkaSettings,
    sys: &SysSettings,
) -> Result<Vec<String>, TopicError> {
    let admin: AdminClient<DefaultClientContext> = admin_config(kafka, &sys.client_ids.admin)
        .create()
        .map_err(TopicError::Client)?;
    let config = sys.topic_config;
    let new_topics: Vec<NewTopic<'_>> = sys
        .topics
        .all()
        .into_iter()
        .map(|name| {
            NewTopic::new(
                name,
                config.num_partitions,
                TopicReplication::Fixed(config.replication_factor),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(std::time::Duration::from_secs(30)));
    let results = admin
        .create_topics(new_topics.iter(), &options)
        .await
        .map_err(TopicError::Request)?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(topic) => {
                tracing::info!(
                    "Topic '{topic}' created ({} partitions)",
                    config.num_partitions
                );
                created.push(topic);
            }
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::info!("Topic '{topic}' already exists");
            }
            Err((topic, code)) => return Err(TopicError::Topic { topic, code }),
        }
    }
    Ok(created)
}
