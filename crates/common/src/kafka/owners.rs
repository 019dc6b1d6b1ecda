//! Notices partitions that no live member of the group works on, and has this member rejoin the
//! group so they get one.
//!
//! With the local broker (tansu 0.6.0), a member that crashes leaves its partitions behind: a
//! member that joins before the crashed one's session expires is assigned nothing, and when a
//! crashed member of a larger group expires, the survivors are handed back only their own
//! partitions. Nothing moves them until a member joins or leaves, which a supervisor's immediate
//! restart does not do twice. A member cannot see who owns what (the broker does not list its
//! groups), but it can see the effect: a partition with events waiting whose committed offset
//! does not move. When one of the partitions this member does not own stays like that for longer
//! than any handler takes, this member rejoins; the join lets the broker drop the expired member
//! and assign everything again. On Apache Kafka the group rebalances on expiry and this never
//! fires.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::rebalance::RebalanceLogger;

/// How often a member looks at the partitions it does not own.
const LOOK_EVERY: Duration = Duration::from_secs(3);
/// How long a partition with events waiting may show no progress before it counts as ownerless:
/// longer than the longest stage a handler holds a partition's offsets for (a late delivery,
/// 28 s at real speed, is the one exception, and a rejoin then costs only a rebalance).
const STALL: Duration = Duration::from_secs(15);
const PATIENCE: Duration = Duration::from_secs(5);

type Partition = (String, i32);

/// What was last seen of a partition: its committed offset, and since when.
struct Seen {
    committed: i64,
    since: Instant,
}

pub(super) struct OwnerWatch {
    topics: Vec<String>,
    seen: HashMap<Partition, Seen>,
    last_rejoin: Option<Instant>,
    /// Every partition of the topics, and when that was read: partition counts seldom change,
    /// and asking the broker at every look would cost an idle shop a round trip each time.
    partitions: Option<(Vec<Partition>, Instant)>,
}

/// How long the topics' partition counts are taken as known.
const PARTITIONS_KNOWN_FOR: Duration = Duration::from_secs(60);

impl OwnerWatch {
    pub(super) fn new(topics: &[&str]) -> Self {
        Self {
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            seen: HashMap::new(),
            last_rejoin: None,
            partitions: None,
        }
    }

    /// Looks every [`LOOK_EVERY`] until `stop`, and rejoins when a partition has no live owner.
    pub(super) async fn run(
        mut self,
        consumer: Arc<StreamConsumer<RebalanceLogger>>,
        stop: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(LOOK_EVERY) => {}
            }
            let looked = {
                let consumer = consumer.clone();
                tokio::task::spawn_blocking(move || {
                    let stalled = self.look(&consumer, Instant::now());
                    (self, stalled)
                })
                .await
            };
            let Ok((watch, stalled)) = looked else { return };
            self = watch;
            if let Some((topic, partition)) = stalled {
                tracing::warn!(
                    "{topic}/{partition} has had events waiting and no progress for {}s: rejoining the group so every partition has a live owner",
                    STALL.as_secs()
                );
                let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
                consumer.unsubscribe();
                if let Err(error) = consumer.subscribe(&topics) {
                    tracing::error!("Cannot subscribe again to {}: {error}", topics.join(", "));
                }
                self.last_rejoin = Some(Instant::now());
                self.seen.clear();
            }
        }
    }

    /// One look at the partitions this member does not own; the first that has stalled.
    fn look(
        &mut self,
        consumer: &StreamConsumer<RebalanceLogger>,
        now: Instant,
    ) -> Option<Partition> {
        let owned: Vec<Partition> = consumer
            .assignment()
            .map(|list| {
                list.elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect()
            })
            .unwrap_or_default();
        let others: Vec<Partition> = self
            .partitions(consumer, now)
            .into_iter()
            .filter(|p| !owned.contains(p))
            .collect();
        if others.is_empty() {
            self.seen.clear();
            return None;
        }
        let committed = committed(consumer, &others)?;
        let mut stalled = None;
        for (partition, offset) in committed {
            let seen = self.seen.entry(partition.clone()).or_insert(Seen {
                committed: offset,
                since: now,
            });
            if seen.committed != offset {
                *seen = Seen {
                    committed: offset,
                    since: now,
                };
                continue;
            }
            let quiet_for = now.duration_since(seen.since);
            let cooled = self
                .last_rejoin
                .is_none_or(|at| now.duration_since(at) >= STALL);
            if quiet_for >= STALL
                && cooled
                && stalled.is_none()
                && waiting(consumer, &partition, offset)
            {
                stalled = Some(partition);
            }
        }
        stalled
    }

    /// Every partition of the subscribed topics.
    fn partitions(
        &mut self,
        consumer: &StreamConsumer<RebalanceLogger>,
        now: Instant,
    ) -> Vec<Partition> {
        if let Some((known, at)) = &self.partitions {
            if now.duration_since(*at) < PARTITIONS_KNOWN_FOR {
                return known.clone();
            }
        }
        let mut all = Vec::new();
        for topic in &self.topics {
            let Ok(metadata) = consumer.fetch_metadata(Some(topic), PATIENCE) else {
                return Vec::new();
            };
            for t in metadata.topics().iter().filter(|t| t.name() == topic) {
                all.extend(t.partitions().iter().map(|p| (topic.clone(), p.id())));
            }
        }
        self.partitions = Some((all.clone(), now));
        all
    }
}

/// The group's committed offset of each partition (0 where it never committed).
fn committed(
    consumer: &StreamConsumer<RebalanceLogger>,
    partitions: &[Partition],
) -> Option<Vec<(Partition, i64)>> {
    let mut list = TopicPartitionList::new();
    for (topic, partition) in partitions {
        list.add_partition(topic, *partition);
    }
    let committed = consumer.committed_offsets(list, PATIENCE).ok()?;
    Some(
        committed
            .elements()
            .iter()
            .map(|e| {
                let offset = match e.offset() {
                    Offset::Offset(offset) => offset,
                    _ => 0,
                };
                ((e.topic().to_owned(), e.partition()), offset)
            })
            .collect(),
    )
}

/// Whether events wait in the partition beyond `committed`.
fn waiting(
    consumer: &StreamConsumer<RebalanceLogger>,
    (topic, partition): &Partition,
    committed: i64,
) -> bool {
    consumer
        .fetch_watermarks(topic, *partition, PATIENCE)
        .is_ok_and(|(low, high)| high > committed.max(low))
}
