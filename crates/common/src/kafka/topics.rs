//! Idempotent creation of the shop's topics: the original's `run_me_first.py`. Every topic is
//! created with `[kafka-topic-config]`; on a cluster with fewer brokers than
//! `replication_factor` (the local broker has one) it says so once and uses what the cluster can
//! hold, instead of failing.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use super::admin_config;
use crate::domain::topics::Topic;
use crate::settings::{KafkaSettings, SysSettings};

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("cannot create the Kafka admin client")]
    Client(#[source] KafkaError),
    #[error("cannot read the cluster's metadata")]
    Metadata(#[source] KafkaError),
    #[error("cannot create topics")]
    Request(#[source] KafkaError),
    #[error("cannot create topic '{topic}': {code}")]
    Topic {
        topic: String,
        code: RDKafkaErrorCode,
    },
}

/// What became of one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicOutcome {
    Created,
    AlreadyThere,
}

const PATIENCE: Duration = Duration::from_secs(30);

/// Creates each of `topics` that does not exist yet; existing topics are left as they are.
pub async fn create_topics(
    kafka: &KafkaSettings,
    sys: &SysSettings,
    topics: &[Topic],
) -> Result<Vec<(String, TopicOutcome)>, TopicError> {
    let admin: Arc<AdminClient<DefaultClientContext>> = Arc::new(
        admin_config(kafka, &sys.client_ids.admin)
            .create()
            .map_err(TopicError::Client)?,
    );
    let config = sys.topic_config;
    let replication = replication_for(admin.clone(), config.replication_factor).await?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|topic| {
            NewTopic::new(
                sys.topics.name(*topic),
                config.num_partitions,
                TopicReplication::Fixed(replication),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(PATIENCE));
    let results = admin
        .create_topics(new_topics.iter(), &options)
        .await
        .map_err(TopicError::Request)?;
    let mut outcomes = Vec::new();
    for result in results {
        match result {
            Ok(topic) => outcomes.push((topic, TopicOutcome::Created)),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                outcomes.push((topic, TopicOutcome::AlreadyThere));
            }
            Err((topic, code)) => return Err(TopicError::Topic { topic, code }),
        }
    }
    Ok(outcomes)
}

/// The configured replication factor, or the number of brokers when the cluster has fewer.
async fn replication_for(
    admin: Arc<AdminClient<DefaultClientContext>>,
    wanted: i32,
) -> Result<i32, TopicError> {
    let brokers = tokio::task::spawn_blocking(move || {
        admin
            .inner()
            .fetch_metadata(None, PATIENCE)
            .map(|metadata| metadata.brokers().len())
    })
    .await
    .unwrap_or(Err(KafkaError::Canceled))
    .map_err(TopicError::Metadata)?;
    let brokers = i32::try_from(brokers).unwrap_or(i32::MAX).max(1);
    if brokers < wanted {
        tracing::warn!(
            "The cluster has {brokers} broker(s), fewer than [kafka-topic-config] replication_factor = {wanted}: topics are created with replication factor {brokers}"
        );
        Ok(brokers)
    } else {
        Ok(wanted)
    }
}

/// Makes sure `topic` exists: created with `[kafka-topic-config]` when it is missing. For the
/// dead-letter topic, which the original's guide does not create by hand.
pub async fn ensure_topic(
    kafka: &KafkaSettings,
    sys: &SysSettings,
    topic: Topic,
) -> Result<TopicOutcome, TopicError> {
    let admin: AdminClient<DefaultClientContext> = admin_config(kafka, &sys.client_ids.admin)
        .create()
        .map_err(TopicError::Client)?;
    let name = sys.topics.name(topic).to_owned();
    let exists = tokio::task::spawn_blocking(move || {
        admin
            .inner()
            .fetch_metadata(Some(&name), PATIENCE)
            .map(|metadata| {
                metadata
                    .topics()
                    .iter()
                    .any(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
            })
    })
    .await
    .unwrap_or(Err(KafkaError::Canceled))
    .map_err(TopicError::Metadata)?;
    if exists {
        return Ok(TopicOutcome::AlreadyThere);
    }
    let outcomes = create_topics(kafka, sys, &[topic]).await?;
    Ok(outcomes
        .into_iter()
        .next()
        .map_or(TopicOutcome::AlreadyThere, |(_, outcome)| outcome))
}
