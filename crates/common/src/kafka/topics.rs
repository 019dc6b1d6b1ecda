//! Idempotent creation of the shop's topics: the original's `run_me_first.py`. Every topic is
//! created with `[kafka-topic-config]`; on a cluster with fewer brokers than
//! `replication_factor` (the local broker has one) it says so once and uses what the cluster can
//! hold, instead of failing.
//!
//! The six event topics are the shop's history (`rebuild` derives the stores from them again), so
//! they are created with `retention.ms = -1`: a cluster's default (Kafka's is 7 days) would
//! quietly take older orders out of every rebuild. A cluster that refuses that by policy gets the
//! topic without it, and the caller is told ([`Creation::retention_refused`]); how long a topic
//! keeps its events can be read back with [`retention_of`].

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigResource, ConfigSource, NewTopic, ResourceSpecifier,
    TopicReplication,
};
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
    #[error("cannot read the topics' configuration")]
    Describe(#[source] KafkaError),
    #[error("cannot read the configuration of topic '{topic}': {code}")]
    Config {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error("the cluster gives topic '{topic}' {RETENTION_MS} = '{value}', which is not a number")]
    Retention { topic: String, value: String },
}

/// What became of one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicOutcome {
    Created,
    AlreadyThere,
}

/// One topic [`create_topics`] was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    pub topic: Topic,
    /// Its name on the cluster.
    pub name: String,
    pub outcome: TopicOutcome,
    /// A history topic the cluster would not create with `retention.ms = -1` (a policy of
    /// Confluent Cloud's, or any cluster's): what it answered. The topic was created without the
    /// setting, so it keeps events for the cluster's retention.
    pub retention_refused: Option<RDKafkaErrorCode>,
}

impl Creation {
    /// Whether the topic is known to keep its events for good without asking the cluster: a
    /// history topic this run created with `retention.ms = -1`. One that existed keeps what it was
    /// created (or altered) with.
    pub fn kept_for_good(&self) -> bool {
        keeps_history(self.topic)
            && self.outcome == TopicOutcome::Created
            && self.retention_refused.is_none()
    }
}

/// Whether `topic` is part of the shop's history, which `rebuild` reads from the beginning.
pub fn keeps_history(topic: Topic) -> bool {
    match topic {
        Topic::Ordered
        | Topic::Assembled
        | Topic::Baked
        | Topic::Delivered
        | Topic::Pending
        | Topic::Status => true,
        // Copies, for a person to look at, of events whose originals stay on their topics: the
        // cluster's retention is the right one for them.
        Topic::DeadLetter => false,
    }
}

/// The topic configuration that says how long a topic keeps an event.
pub const RETENTION_MS: &str = "retention.ms";
/// Kafka reads any negative `retention.ms` as no limit; -1 is the value it documents.
const FOR_GOOD: &str = "-1";

/// The answers with which a cluster refuses a topic configuration it does not allow: Kafka's
/// `CreateTopicPolicy` answers `POLICY_VIOLATION`, a value it will not take `INVALID_CONFIG`, and
/// some managed clusters `INVALID_REQUEST`. Only these are worth a second request without the
/// setting: any other refusal would refuse that one too, or is not about the setting.
fn refuses_the_setting(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::PolicyViolation
            | RDKafkaErrorCode::InvalidConfig
            | RDKafkaErrorCode::InvalidRequest
    )
}

const PATIENCE: Duration = Duration::from_secs(30);

/// Creates each of `topics` that does not exist yet; existing topics are left as they are,
/// retention included: changing a running cluster's retention is its operator's choice.
pub async fn create_topics(
    kafka: &KafkaSettings,
    sys: &SysSettings,
    topics: &[Topic],
) -> Result<Vec<Creation>, TopicError> {
    let admin: Arc<AdminClient<DefaultClientContext>> = Arc::new(
        admin_config(kafka, &sys.client_ids.admin)
            .create()
            .map_err(TopicError::Client)?,
    );
    let config = sys.topic_config;
    let replication = replication_for(admin.clone(), config.replication_factor).await?;
    let new_topic = |topic: Topic| {
        NewTopic::new(
            sys.topics.name(topic),
            config.num_partitions,
            TopicReplication::Fixed(replication),
        )
    };
    let options = AdminOptions::new().operation_timeout(Some(PATIENCE));
    let wanted: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|&topic| {
            if keeps_history(topic) {
                new_topic(topic).set(RETENTION_MS, FOR_GOOD)
            } else {
                new_topic(topic)
            }
        })
        .collect();
    let results = admin
        .create_topics(wanted.iter(), &options)
        .await
        .map_err(TopicError::Request)?;
    let mut creations = Vec::new();
    let mut refused = Vec::new();
    for result in results {
        let (name, answer) = match result {
            Ok(name) => (name, Ok(())),
            Err((name, code)) => (name, Err(code)),
        };
        let Some(topic) = topic_named(sys, topics, &name) else {
            continue;
        };
        match answer {
            Ok(()) => creations.push(created(topic, name, None)),
            Err(RDKafkaErrorCode::TopicAlreadyExists) => {
                creations.push(already_there(topic, name));
            }
            Err(code) if keeps_history(topic) && refuses_the_setting(code) => {
                refused.push((topic, code));
            }
            Err(code) => return Err(TopicError::Topic { topic: name, code }),
        }
    }
    if !refused.is_empty() {
        // A participant on a managed cluster must never be stopped by the shop's wish to keep
        // its history: the topic comes without it, and the caller says what that costs.
        let again: Vec<NewTopic<'_>> = refused.iter().map(|(topic, _)| new_topic(*topic)).collect();
        let results = admin
            .create_topics(again.iter(), &options)
            .await
            .map_err(TopicError::Request)?;
        for result in results {
            let (name, answer) = match result {
                Ok(name) => (name, Ok(())),
                Err((name, code)) => (name, Err(code)),
            };
            let Some(&(topic, first)) = refused
                .iter()
                .find(|(topic, _)| sys.topics.name(*topic) == name)
            else {
                continue;
            };
            match answer {
                Ok(()) => creations.push(created(topic, name, Some(first))),
                // Another run created it in between, with whatever it asked for.
                Err(RDKafkaErrorCode::TopicAlreadyExists) => {
                    creations.push(already_there(topic, name));
                }
                Err(code) => return Err(TopicError::Topic { topic: name, code }),
            }
        }
    }
    // In the order asked for, whichever request each was settled by.
    creations.sort_by_key(|creation| topics.iter().position(|t| *t == creation.topic));
    Ok(creations)
}

fn topic_named(sys: &SysSettings, topics: &[Topic], name: &str) -> Option<Topic> {
    topics
        .iter()
        .copied()
        .find(|topic| sys.topics.name(*topic) == name)
}

fn created(topic: Topic, name: String, retention_refused: Option<RDKafkaErrorCode>) -> Creation {
    Creation {
        topic,
        name,
        outcome: TopicOutcome::Created,
        retention_refused,
    }
}

fn already_there(topic: Topic, name: String) -> Creation {
    Creation {
        topic,
        name,
        outcome: TopicOutcome::AlreadyThere,
        retention_refused: None,
    }
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
    let creations = create_topics(kafka, sys, &[topic]).await?;
    Ok(creations
        .into_iter()
        .next()
        .map_or(TopicOutcome::AlreadyThere, |creation| creation.outcome))
}

/// How long a topic keeps its events, as the cluster says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    ForGood,
    /// Events older than `ms` milliseconds are deleted.
    Limited {
        ms: u64,
        set_on_topic: bool,
    },
    /// The cluster's answer has no `retention.ms`: a broker that lists only what a topic sets
    /// (the local broker does) has its default, which it does not say.
    Unsaid,
}

impl Retention {
    fn from_config(name: &str, config: &ConfigResource) -> Result<Self, TopicError> {
        let Some(entry) = config.get(RETENTION_MS) else {
            return Ok(Self::Unsaid);
        };
        let Some(value) = entry.value.as_deref() else {
            return Ok(Self::Unsaid);
        };
        let ms: i64 = value.trim().parse().map_err(|_| TopicError::Retention {
            topic: name.to_owned(),
            value: value.to_owned(),
        })?;
        Ok(match u64::try_from(ms) {
            Err(_) => Self::ForGood,
            Ok(ms) => Self::Limited {
                ms,
                set_on_topic: entry.source == ConfigSource::DynamicTopic,
            },
        })
    }
}

/// Attempts at reading a just-created topic's configuration: a cluster can answer for a topic a
/// moment after it has acknowledged its creation.
const DESCRIBE_ATTEMPTS: u32 = 5;

/// Each of `names`' retention, read from the cluster with `DescribeConfigs`.
pub async fn retention_of(
    kafka: &KafkaSettings,
    sys: &SysSettings,
    names: &[String],
) -> Result<Vec<(String, Retention)>, TopicError> {
    let admin: AdminClient<DefaultClientContext> = admin_config(kafka, &sys.client_ids.admin)
        .create()
        .map_err(TopicError::Client)?;
    let options = AdminOptions::new().request_timeout(Some(PATIENCE));
    let resources: Vec<ResourceSpecifier<'_>> = names
        .iter()
        .map(|name| ResourceSpecifier::Topic(name))
        .collect();
    let mut attempt = 1;
    let answers = loop {
        let answers = admin
            .describe_configs(resources.iter(), &options)
            .await
            .map_err(TopicError::Describe)?;
        let unknown = answers
            .iter()
            .any(|answer| matches!(answer, Err(RDKafkaErrorCode::UnknownTopicOrPartition)));
        if !unknown || attempt == DESCRIBE_ATTEMPTS {
            break answers;
        }
        tokio::time::sleep(Duration::from_millis(200) * attempt).await;
        attempt += 1;
    };
    // librdkafka puts the answers in the order asked, whatever order the broker gave them in.
    names
        .iter()
        .zip(answers)
        .map(|(name, answer)| {
            let config = answer.map_err(|code| TopicError::Config {
                topic: name.clone(),
                code,
            })?;
            Ok((name.clone(), Retention::from_config(name, &config)?))
        })
        .collect()
}

/// The one line about how long the history is kept: said at info level when `kept_for_good`,
/// as a warning otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    pub kept_for_good: bool,
    pub text: String,
}

/// What `retentions` (the history topics') mean for a rebuild, in one line. `refused` is what
/// the cluster answered when it would not create a topic with `retention.ms = -1`.
pub fn history_line(
    retentions: &[(String, Retention)],
    refused: Option<RDKafkaErrorCode>,
) -> HistoryLine {
    let shortest = retentions
        .iter()
        .filter_map(|(_, retention)| match retention {
            Retention::Limited { ms, .. } => Some(*ms),
            Retention::ForGood | Retention::Unsaid => None,
        })
        .min();
    let unsaid: Vec<&str> = retentions
        .iter()
        .filter(|(_, retention)| *retention == Retention::Unsaid)
        .map(|(name, _)| name.as_str())
        .collect();
    if shortest.is_none() && unsaid.is_empty() {
        return HistoryLine {
            kept_for_good: true,
            text: format!(
                "The topics keep the shop's history for good ({RETENTION_MS} = {FOR_GOOD}): `rebuild` can build the views again from it"
            ),
        };
    }
    let mut text = String::new();
    if let Some(code) = refused {
        text.push_str(&format!(
            "The cluster refused {RETENTION_MS} = {FOR_GOOD} ({code}); "
        ));
    }
    match shortest {
        Some(ms) => {
            let at_shortest: Vec<(&str, bool)> = retentions
                .iter()
                .filter_map(|(name, retention)| match retention {
                    Retention::Limited {
                        ms: limit,
                        set_on_topic,
                    } if *limit == ms => Some((name.as_str(), *set_on_topic)),
                    _ => None,
                })
                .collect();
            let names: Vec<&str> = at_shortest.iter().map(|(name, _)| *name).collect();
            let whose = if at_shortest.iter().all(|(_, on_topic)| *on_topic) {
                "set on the topic"
            } else if at_shortest.iter().any(|(_, on_topic)| *on_topic) {
                "set on the topic or the cluster's setting"
            } else {
                "the cluster's setting"
            };
            text.push_str(&format!(
                "{} {} events for {} ({RETENTION_MS} = {ms}, {whose}): a rebuild after that cannot bring back older orders",
                names.join(", "),
                keep(names.len()),
                human(ms)
            ));
            if !unsaid.is_empty() {
                text.push_str(&format!(
                    "; {} {} them for the cluster's default, which it does not say",
                    unsaid.join(", "),
                    keep(unsaid.len())
                ));
            }
        }
        None => text.push_str(&format!(
            "{} {} events for the cluster's default retention, which it does not say (its answer has no {RETENTION_MS}): a rebuild can bring back only the orders it still holds",
            unsaid.join(", "),
            keep(unsaid.len())
        )),
    }
    HistoryLine {
        kept_for_good: false,
        text,
    }
}

fn keep(topics: usize) -> &'static str {
    if topics == 1 {
        "keeps"
    } else {
        "keep"
    }
}

/// `ms` in the largest unit it reaches: exact when it is a whole number of that unit
/// (604800000 is "7 days"), rounded to a tenth otherwise.
fn human(ms: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (86_400_000, "day"),
        (3_600_000, "hour"),
        (60_000, "minute"),
        (1_000, "second"),
        (1, "millisecond"),
    ];
    let (size, unit) = UNITS
        .iter()
        .copied()
        .find(|(size, _)| ms >= *size)
        .unwrap_or((1, "millisecond"));
    let count = ms / size;
    if ms.is_multiple_of(size) {
        let plural = if count == 1 { "" } else { "s" };
        format!("{count} {unit}{plural}")
    } else {
        // A tenth is all a reader weighing a retention needs; f64 holds any retention exactly
        // enough for that.
        let amount = ms as f64 / size as f64;
        format!("about {amount:.1} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(ms: u64, set_on_topic: bool) -> Retention {
        Retention::Limited { ms, set_on_topic }
    }

    #[test]
    fn durations_read_in_the_largest_unit_they_reach() {
        assert_eq!(human(604_800_000), "7 days");
        assert_eq!(human(86_400_000), "1 day");
        assert_eq!(human(3_600_000), "1 hour");
        assert_eq!(human(5_400_000), "about 1.5 hours");
        assert_eq!(human(60_000), "1 minute");
        assert_eq!(human(1_500), "about 1.5 seconds");
        assert_eq!(human(1), "1 millisecond");
        assert_eq!(human(0), "0 milliseconds");
    }

    #[test]
    fn only_the_dead_letters_are_not_history() {
        let history: Vec<Topic> = Topic::ALL
            .into_iter()
            .filter(|t| keeps_history(*t))
            .collect();
        assert_eq!(history.len(), 6);
        assert!(!keeps_history(Topic::DeadLetter));
    }

    #[test]
    fn history_kept_for_good_is_said_as_such() {
        let line = history_line(
            &[
                ("pizza-ordered".into(), Retention::ForGood),
                ("pizza-status".into(), Retention::ForGood),
            ],
            None,
        );
        assert!(line.kept_for_good);
        assert!(
            line.text.contains("for good (retention.ms = -1)"),
            "{line:?}"
        );
        assert!(history_line(&[], None).kept_for_good);
    }

    #[test]
    fn the_shortest_retention_is_named_with_its_topics() {
        let line = history_line(
            &[
                ("pizza-ordered".into(), limited(604_800_000, false)),
                ("pizza-baked".into(), Retention::ForGood),
                ("pizza-status".into(), limited(604_800_000, false)),
                ("pizza-pending".into(), limited(2_592_000_000, true)),
            ],
            None,
        );
        assert!(!line.kept_for_good);
        assert_eq!(
            line.text,
            "pizza-ordered, pizza-status keep events for 7 days (retention.ms = 604800000, the \
             cluster's setting): a rebuild after that cannot bring back older orders"
        );
    }

    #[test]
    fn a_refusal_and_an_unsaid_retention_are_in_the_same_line() {
        let line = history_line(
            &[
                ("pizza-ordered".into(), limited(3_600_000, true)),
                ("pizza-status".into(), Retention::Unsaid),
            ],
            Some(RDKafkaErrorCode::PolicyViolation),
        );
        assert!(!line.kept_for_good);
        assert!(
            line.text
                .starts_with("The cluster refused retention.ms = -1 (PolicyViolation"),
            "{line:?}"
        );
        assert!(
            line.text.contains(
                "pizza-ordered keeps events for 1 hour (retention.ms = 3600000, set on the topic)"
            ),
            "{line:?}"
        );
        assert!(
            line.text.ends_with(
                "; pizza-status keeps them for the cluster's default, which it does not say"
            ),
            "{line:?}"
        );
        assert!(!line.text.contains('\n'));
    }

    #[test]
    fn an_unsaid_retention_alone_is_a_warning() {
        let line = history_line(&[("pizza-baked".into(), Retention::Unsaid)], None);
        assert!(!line.kept_for_good);
        assert!(
            line.text
                .starts_with("pizza-baked keeps events for the cluster's default retention"),
            "{line:?}"
        );
    }

    #[test]
    fn only_refusals_of_the_setting_are_asked_again_without_it() {
        assert!(refuses_the_setting(RDKafkaErrorCode::PolicyViolation));
        assert!(refuses_the_setting(RDKafkaErrorCode::InvalidConfig));
        assert!(!refuses_the_setting(
            RDKafkaErrorCode::TopicAuthorizationFailed
        ));
        assert!(!refuses_the_setting(RDKafkaErrorCode::RequestTimedOut));
    }
}
