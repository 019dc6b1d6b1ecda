//! Whether ksqlDB's persistent queries copy a stage's status to `pizza-status`, seen on the
//! cluster itself, so a participant who creates the queries by hand in the ksqlDB editor (the
//! workshop guide's step 9, with `[ksqldb]` left commented out) gets every status once.
//!
//! Each persistent query is a consumer group named `_confluent-ksql-<service id>query_<query
//! id>` that reads its source topic. A stage is *derived* while such a group has live members
//! and reads the stage's topic: its members' assignments say so (Apache Kafka and Confluent
//! Cloud describe them), or, where the broker does not describe assignments (the local broker),
//! the offsets the group has committed on the topic. This is looked at when the sender starts,
//! before its first event, and again every [`LOOK_EVERY`].
//!
//! Leaving a status to a query is a hand-over, and it is confirmed: the stage event counts as
//! copied once the query's group has committed an offset past it. A query that stops first (it
//! was dropped, its ksqlDB is gone), or that has not copied it within [`COPY_PATIENCE`], leaves
//! the status to the sender after all, so no status is lost if the queries go away later (one
//! may then arrive twice, which the view's fold takes as a repeat).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::client::client_config_for_lookup;
use super::producer::Landed;
use crate::domain::topics::Topic;
use crate::settings::{KafkaSettings, Topics};

/// How often the cluster's groups are looked at again.
const LOOK_EVERY: Duration = Duration::from_secs(10);
/// How often a hand-over's query is asked how far it has got.
const ASK_EVERY: Duration = Duration::from_millis(250);
/// How long a query may take to copy one status before the sender writes it itself.
const COPY_PATIENCE: Duration = Duration::from_secs(60);
const PATIENCE: Duration = Duration::from_secs(10);
/// Every ksqlDB persistent query's consumer group starts with this.
const QUERY_GROUP_PREFIX: &str = "_confluent-ksql-";
/// and names the query after this.
const PERSISTENT_QUERY: &str = "query_";

/// What became of a status left to a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HandOver {
    /// The query's group committed past the stage event: the status is on its way.
    Copied,
    /// The status is the sender's to write after all, for this reason.
    Returned(String),
}

#[derive(Clone)]
pub(super) struct QueryWatch {
    inner: Arc<Inner>,
}

struct Inner {
    kafka: KafkaSettings,
    client_id: String,
    /// Lists the cluster's groups; it joins none.
    lister: BaseConsumer,
    topics: Topics,
    /// The stages whose status this sender writes unless a query does.
    stages: Vec<Topic>,
    /// For each derived stage, the group of the query that derives it.
    derived: Mutex<BTreeMap<Topic, String>>,
    /// A client per query group, created with the group's id and never subscribed: how a
    /// group's committed offsets are read (the Admin API's offset listing is not in the client
    /// library), without joining the group.
    readers: Mutex<HashMap<String, Arc<BaseConsumer>>>,
}

impl QueryWatch {
    /// Looks at the cluster once (a cluster that cannot be asked counts as running no queries),
    /// then every [`LOOK_EVERY`] until `stop`.
    pub(super) async fn start(
        kafka: &KafkaSettings,
        client_id: &str,
        topics: &Topics,
        stages: &[Topic],
        stop: &CancellationToken,
    ) -> Result<Self, KafkaError> {
        let lister = client_config_for_lookup(kafka, client_id).create()?;
        let watch = Self {
            inner: Arc::new(Inner {
                kafka: kafka.clone(),
                client_id: client_id.to_owned(),
                lister,
                topics: topics.clone(),
                stages: stages.to_vec(),
                derived: Mutex::default(),
                readers: Mutex::default(),
            }),
        };
        watch.look_again().await;
        let looking = watch.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(LOOK_EVERY) => looking.look_again().await,
                }
            }
        });
        Ok(watch)
    }

    /// The group of the query deriving `stage`'s status, if one does.
    pub(super) fn deriving(&self, stage: Topic) -> Option<String> {
        lock(&self.inner.derived).get(&stage).cloned()
    }

    /// Waits until the query deriving `stage` has copied the event that landed at `landed`, or
    /// until it is clear that it will not.
    pub(super) async fn handed_over(&self, stage: Topic, landed: Landed) -> HandOver {
        let topic = self.inner.topics.name(stage).to_owned();
        let started = Instant::now();
        loop {
            let Some(group) = self.deriving(stage) else {
                return HandOver::Returned(format!(
                    "no ksqlDB query copies the statuses of {topic} any more"
                ));
            };
            let inner = self.inner.clone();
            let asking = topic.clone();
            let committed = tokio::task::spawn_blocking(move || {
                inner.committed(&group, &asking, &[landed.partition])
            })
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|offsets| offsets.get(&landed.partition).copied());
            if committed.is_some_and(|next| next > landed.offset) {
                return HandOver::Copied;
            }
            if started.elapsed() > COPY_PATIENCE {
                return HandOver::Returned(format!(
                    "ksqlDB did not copy it within {COPY_PATIENCE:?}"
                ));
            }
            tokio::time::sleep(ASK_EVERY).await;
        }
    }

    /// Looks at the cluster's groups and says in the log when a stage's status changes hands.
    async fn look_again(&self) {
        let inner = self.inner.clone();
        let looked = tokio::task::spawn_blocking(move || inner.look()).await;
        let now = match looked {
            Ok(Ok(derived)) => derived,
            Ok(Err(error)) => {
                tracing::debug!("Cannot list the cluster's consumer groups: {error}");
                return;
            }
            Err(_) => return,
        };
        let mut derived = lock(&self.inner.derived);
        let status = &self.inner.topics.status;
        for (stage, group) in &now {
            if derived.get(stage) != Some(group) {
                tracing::info!(
                    "ksqlDB's persistent query '{group}' copies the statuses of {} to {status}: this service leaves them to it",
                    self.inner.topics.name(*stage)
                );
            }
        }
        for (stage, group) in derived.iter() {
            if !now.contains_key(stage) {
                tracing::info!(
                    "ksqlDB's persistent query '{group}' no longer copies the statuses of {} to {status}: this service writes them again",
                    self.inner.topics.name(*stage)
                );
            }
        }
        *derived = now;
        lock(&self.inner.readers).retain(|group, _| derived.values().any(|g| g == group));
    }
}

impl Inner {
    /// The stages whose status a live query derives, each with its query's group.
    fn look(&self) -> Result<BTreeMap<Topic, String>, KafkaError> {
        let groups = self.lister.fetch_group_list(None, PATIENCE)?;
        let ours: BTreeMap<String, Topic> = self
            .stages
            .iter()
            .map(|stage| (self.topics.name(*stage).to_owned(), *stage))
            .collect();
        let mut derived = BTreeMap::new();
        for group in groups.groups() {
            if !is_persistent_query(group.name()) || group.members().is_empty() {
                continue;
            }
            let mut read: BTreeSet<String> = group
                .members()
                .iter()
                .filter_map(|member| member.assignment())
                .flat_map(|bytes| assigned_topics(bytes).unwrap_or_default())
                .collect();
            if read.is_empty() {
                // No assignments described: the topics the group has committed offsets on.
                for topic in ours.keys() {
                    let partitions = partitions_of(&self.lister, topic)?;
                    let committed = self.committed(group.name(), topic, &partitions)?;
                    if !committed.is_empty() {
                        read.insert(topic.clone());
                    }
                }
            }
            for topic in read {
                if let Some(stage) = ours.get(&topic) {
                    derived
                        .entry(*stage)
                        .or_insert_with(|| group.name().to_owned());
                }
            }
        }
        Ok(derived)
    }

    /// The offsets `group` has committed on these partitions of `topic` (the next offset it
    /// will read), for the partitions where it has committed one.
    fn committed(
        &self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> Result<HashMap<i32, i64>, KafkaError> {
        let reader = self.reader(group)?;
        let mut list = TopicPartitionList::new();
        for partition in partitions {
            list.add_partition(topic, *partition);
        }
        let committed = reader.committed_offsets(list, PATIENCE)?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(next) => Some((e.partition(), next)),
                _ => None,
            })
            .collect())
    }

    fn reader(&self, group: &str) -> Result<Arc<BaseConsumer>, KafkaError> {
        if let Some(reader) = lock(&self.readers).get(group) {
            return Ok(reader.clone());
        }
        let mut config = client_config_for_lookup(&self.kafka, &self.client_id);
        config.set("group.id", group);
        let reader: Arc<BaseConsumer> = Arc::new(config.create()?);
        lock(&self.readers).insert(group.to_owned(), reader.clone());
        Ok(reader)
    }
}

fn partitions_of(client: &BaseConsumer, topic: &str) -> Result<Vec<i32>, KafkaError> {
    let metadata = client.fetch_metadata(Some(topic), PATIENCE)?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect())
}

/// A panic while a lock is held leaves these maps usable, so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// `_confluent-ksql-<service id>query_<query id>`: a persistent query's group (a transient
/// query's says `transient_`).
fn is_persistent_query(group: &str) -> bool {
    group
        .strip_prefix(QUERY_GROUP_PREFIX)
        .is_some_and(|rest| rest.contains(PERSISTENT_QUERY))
}

/// The topics of a member's assignment, as the consumer protocol encodes it (version 0 to 3):
/// a version (int16), then the topics, each a name (int16 length, UTF-8) and its partitions
/// (int32 count, int32 each), then user data. `None` when the bytes are not such an assignment.
fn assigned_topics(bytes: &[u8]) -> Option<Vec<String>> {
    let mut reader = Reader(bytes);
    let version = reader.i16()?;
    if !(0..=3).contains(&version) {
        return None;
    }
    let count = reader.i32()?;
    let mut topics = Vec::new();
    for _ in 0..count.max(0) {
        let length = usize::try_from(reader.i16()?).ok()?;
        let name = std::str::from_utf8(reader.take(length)?).ok()?;
        let partitions = usize::try_from(reader.i32()?).ok()?;
        reader.take(partitions.checked_mul(4)?)?;
        topics.push(name.to_owned());
    }
    Some(topics)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(taken)
    }

    fn i16(&mut self) -> Option<i16> {
        self.take(2)
            .and_then(|b| b.try_into().ok())
            .map(i16::from_be_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A consumer-protocol assignment of these topics, as a group coordinator returns it.
    fn assignment(version: i16, topics: &[(&str, &[i32])]) -> Vec<u8> {
        let mut bytes = version.to_be_bytes().to_vec();
        bytes.extend((topics.len() as i32).to_be_bytes());
        for (name, partitions) in topics {
            bytes.extend((name.len() as i16).to_be_bytes());
            bytes.extend(name.as_bytes());
            bytes.extend((partitions.len() as i32).to_be_bytes());
            for partition in *partitions {
                bytes.extend(partition.to_be_bytes());
            }
        }
        // User data: ksqlDB's (Kafka Streams') assignor puts its own there.
        bytes.extend(3i32.to_be_bytes());
        bytes.extend([1, 2, 3]);
        bytes
    }

    #[test]
    fn reads_the_topics_of_an_assignment() {
        let bytes = assignment(1, &[("pizza-baked", &[0, 1]), ("pizza-pending", &[2])]);
        assert_eq!(
            assigned_topics(&bytes),
            Some(vec!["pizza-baked".to_owned(), "pizza-pending".to_owned()])
        );
        assert_eq!(assigned_topics(&assignment(0, &[])), Some(vec![]));
    }

    #[test]
    fn refuses_what_is_not_an_assignment() {
        let bytes = assignment(1, &[("pizza-baked", &[0, 1])]);
        assert_eq!(assigned_topics(&bytes[..9]), None, "cut short");
        assert_eq!(
            assigned_topics(&assignment(7, &[])),
            None,
            "unknown version"
        );
        assert_eq!(assigned_topics(&[]), None);
        let mut negative = assignment(1, &[("t", &[0])]);
        negative[6..8].copy_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(assigned_topics(&negative), None, "a negative length");
    }

    #[test]
    fn knows_a_persistent_querys_group() {
        assert!(is_persistent_query(
            "_confluent-ksql-pksqlc-3q2ryquery_INSERTQUERY_5"
        ));
        assert!(is_persistent_query(
            "_confluent-ksql-default_query_CSAS_X_1"
        ));
        assert!(!is_persistent_query(
            "_confluent-ksql-default_transient_123_456"
        ));
        assert!(!is_persistent_query("microservice_baked"));
    }
}
