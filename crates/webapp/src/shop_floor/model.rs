//! What the shop floor shows, worked out from readings of the broker: pure functions, so the
//! page's figures and words are tested without one.
//!
//! The picture is the shop's declared wiring ([`ServiceName::consumes`], `produces`), not what
//! happens to be running, so a stopped service stays on it, marked down, with what waits for it.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{GroupOffsets, Member};
use common::settings::Topics;
use serde::Serialize;

/// Rates are taken over about this long: short enough to follow a burst of orders, long enough
/// that one event does not look like a flood.
const RATE_WINDOW: Duration = Duration::from_secs(10);
/// How far back the sparklines go.
pub(crate) const HISTORY: Duration = Duration::from_secs(300);

/// One reading of one consumer group.
#[derive(Debug, Clone)]
pub(crate) enum GroupReading {
    Read(GroupOffsets),
    /// The broker could not be asked; the message says why.
    Failed(String),
}

/// One round of readings, at one moment.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    pub at: Instant,
    pub groups: BTreeMap<ServiceName, GroupReading>,
    /// The end of every partition of every topic drawn, for what is written along each edge.
    pub ends: Option<BTreeMap<String, i64>>,
    /// Dead letters kept, by the topic they came from, or why they could not be counted.
    pub dead_letters: Result<BTreeMap<String, u64>, String>,
    /// Orders the watchdog flags stuck now, or why that could not be asked.
    pub stuck: Result<u64, String>,
}

/// The page's whole state, sent as JSON to every watcher.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Floor {
    pub services: Vec<ServiceView>,
    pub topics: Vec<TopicView>,
    pub dead_letters: DeadLetters,
    pub stuck_orders: Option<u64>,
    /// Why a figure is missing, in one line each.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceView {
    pub name: &'static str,
    /// `up`, `down` (its group has no member) or `unknown` (the broker would not say).
    pub state: &'static str,
    pub group: Option<String>,
    pub writes: Vec<String>,
    /// `None` when the broker does not describe the group's members.
    pub members: Option<Vec<MemberView>>,
    pub reads: Vec<WaitingView>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemberView {
    pub client_id: String,
    pub host: String,
    /// `topic/partition` each; `None` when the broker does not say.
    pub partitions: Option<Vec<String>>,
}

/// What waits for one service on one topic.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WaitingView {
    pub topic: String,
    pub lag: i64,
    /// The lag in the shop's words: "3 pizzas waiting at the oven".
    pub words: String,
    /// Events handled per second, over the last few seconds.
    pub rate: f64,
    /// How long what waits takes at that rate, in words.
    pub drain: String,
    /// The lag over the last minutes, oldest first, one value per reading.
    pub history: Vec<i64>,
    pub partitions: Vec<PartitionView>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PartitionView {
    pub partition: i32,
    pub lag: i64,
    pub end: i64,
    /// `None` while the group has committed nothing there ("nothing committed yet").
    pub committed: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopicView {
    pub name: String,
    pub writers: Vec<&'static str>,
    pub readers: Vec<&'static str>,
    /// Events written per second, over the last few seconds; `None` until two readings.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeadLetters {
    pub topic: String,
    /// By the topic each came from.
    pub by_source: Vec<(String, u64)>,
}

/// The topics on the picture, in the order an order meets them.
pub(crate) const DRAWN: [Topic; 6] = [
    Topic::Ordered,
    Topic::Assembled,
    Topic::Baked,
    Topic::Delivered,
    Topic::Pending,
    Topic::Status,
];

/// The last few minutes of readings, for rates and sparklines.
#[derive(Debug, Default)]
pub(crate) struct History {
    readings: VecDeque<Reading>,
}

impl History {
    pub(crate) fn push(&mut self, reading: Reading) {
        let now = reading.at;
        self.readings.push_back(reading);
        while self
            .readings
            .front()
            .is_some_and(|oldest| now.duration_since(oldest.at) > HISTORY)
        {
            self.readings.pop_front();
        }
    }

    fn latest(&self) -> Option<&Reading> {
        self.readings.back()
    }

    /// The reading that a rate is taken against: the newest one at least a window old, or
    /// failing that the oldest there is.
    fn window_start(&self) -> Option<&Reading> {
        let now = self.latest()?.at;
        self.readings
            .iter()
            .rev()
            .skip(1)
            .find(|r| now.duration_since(r.at) >= RATE_WINDOW)
            .or_else(|| self.readings.front().filter(|_| self.readings.len() > 1))
    }
}

fn offsets(reading: &Reading, service: ServiceName) -> Option<&GroupOffsets> {
    match reading.groups.get(&service)? {
        GroupReading::Read(offsets) => Some(offsets),
        GroupReading::Failed(_) => None,
    }
}

/// The end of every partition of `topic`, summed: how many events were ever written there.
fn written(reading: &Reading, topic: &str) -> Option<i64> {
    reading.ends.as_ref()?.get(topic).copied()
}

/// How far `service`'s group has got on `topic`, summed over partitions.
fn handled(reading: &Reading, service: ServiceName, topic: &str) -> Option<i64> {
    let offsets = offsets(reading, service)?;
    Some(
        offsets
            .partitions
            .iter()
            .filter(|p| p.topic == topic)
            .map(|p| p.newest - p.lag())
            .sum(),
    )
}

fn per_second(newer: i64, older: i64, elapsed: Duration) -> Option<f64> {
    let seconds = elapsed.as_secs_f64();
    (seconds > 0.0).then(|| ((newer - older).max(0) as f64) / seconds)
}

fn lag_of(reading: &Reading, service: ServiceName, topic: &str) -> Option<i64> {
    offsets(reading, service).map(|offsets| {
        offsets
            .partitions
            .iter()
            .filter(|p| p.topic == topic)
            .map(|p| p.lag())
            .sum()
    })
}

/// What waits for `service` on `topic`, in the shop's words.
pub(crate) fn waiting_words(service: ServiceName, topic: Topic, lag: i64) -> String {
    if lag <= 0 {
        return "nothing waiting".to_owned();
    }
    let (one, many, where_) = match (service, topic) {
        (ServiceName::Assemble, _) => ("order", "orders", "waiting to be assembled"),
        (ServiceName::Bake, _) => ("pizza", "pizzas", "waiting at the oven"),
        (ServiceName::Delivery, Topic::Ordered) => (
            "early warning",
            "early warnings",
            "not yet read by the driver",
        ),
        (ServiceName::Delivery, _) => ("pizza", "pizzas", "waiting for the driver"),
        (ServiceName::Status, _) => ("status update", "status updates", "not yet in the view"),
        (ServiceName::Webapp, _) => ("event", "events", "waiting"),
    };
    let noun = if lag == 1 { one } else { many };
    format!("{lag} {noun} {where_}")
}

/// How long `lag` events take at `rate` per second, in words.
pub(crate) fn drain_words(lag: i64, rate: Option<f64>) -> String {
    match rate {
        _ if lag <= 0 => "all caught up".to_owned(),
        Some(rate) if rate > 0.0 => {
            let seconds = (lag as f64 / rate).ceil();
            if seconds < 90.0 {
                format!("about {seconds:.0} s to work off at {rate:.1}/s")
            } else {
                format!(
                    "about {:.0} min to work off at {rate:.1}/s",
                    (seconds / 60.0).ceil()
                )
            }
        }
        Some(_) => "not moving".to_owned(),
        None => "rate not known yet".to_owned(),
    }
}

fn member_view(member: &Member) -> MemberView {
    // Some clusters describe a member without naming it.
    let or = |text: &str, unknown: &str| {
        if text.is_empty() {
            unknown.to_owned()
        } else {
            text.to_owned()
        }
    };
    MemberView {
        client_id: or(&member.client_id, "a member the cluster does not name"),
        host: or(&member.host, "an unknown host"),
        partitions: member.partitions.as_ref().map(|held| {
            held.iter()
                .map(|(topic, partition)| format!("{topic}/{partition}"))
                .collect()
        }),
    }
}

/// The page's state from the readings so far.
pub(crate) fn floor(
    history: &History,
    topics: &Topics,
    groups: &BTreeMap<ServiceName, String>,
) -> Floor {
    let latest = history.latest();
    let start = history.window_start();
    let elapsed = match (latest, start) {
        (Some(latest), Some(start)) => latest.at.duration_since(start.at),
        _ => Duration::ZERO,
    };
    let mut problems = Vec::new();
    let mut services = Vec::new();
    for service in ServiceName::FLOW {
        let group = groups.get(&service).cloned();
        let reading = latest.and_then(|r| r.groups.get(&service));
        if let (Some(GroupReading::Failed(why)), Some(group)) = (reading, &group) {
            problems.push(format!("group '{group}': {why}"));
        }
        let read = latest.and_then(|r| offsets(r, service));
        let members = read.and_then(|o| o.members.as_ref());
        let state = match (service, members) {
            // It is serving this page.
            (ServiceName::Webapp, _) => "up",
            (_, Some(members)) if members.is_empty() => "down",
            (_, Some(_)) => "up",
            (_, None) => "unknown",
        };
        let reads = service
            .consumes()
            .iter()
            .map(|&topic| {
                let name = topics.name(topic);
                let lag = latest
                    .and_then(|r| lag_of(r, service, name))
                    .unwrap_or_default();
                let rate = match (latest, start) {
                    (Some(latest), Some(start)) => handled(latest, service, name)
                        .zip(handled(start, service, name))
                        .and_then(|(newer, older)| per_second(newer, older, elapsed)),
                    _ => None,
                };
                WaitingView {
                    topic: name.to_owned(),
                    lag,
                    words: waiting_words(service, topic, lag),
                    rate: rate.unwrap_or_default(),
                    drain: drain_words(lag, rate),
                    history: history
                        .readings
                        .iter()
                        .filter_map(|r| lag_of(r, service, name))
                        .collect(),
                    partitions: read
                        .map(|o| {
                            o.partitions
                                .iter()
                                .filter(|p| p.topic == name)
                                .map(|p| PartitionView {
                                    partition: p.partition,
                                    lag: p.lag(),
                                    end: p.newest,
                                    committed: p.committed,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect();
        let mut writes: Vec<String> = service
            .produces()
            .iter()
            .map(|&t| topics.name(t).to_owned())
            .collect();
        if service.writes_status() {
            writes.push(topics.status.clone());
        }
        services.push(ServiceView {
            name: service.as_str(),
            state,
            group,
            writes,
            members: members.map(|m| m.iter().map(member_view).collect()),
            reads,
        });
    }
    let topic_views = DRAWN
        .iter()
        .map(|&topic| {
            let name = topics.name(topic);
            let rate = match (latest, start) {
                (Some(latest), Some(start)) => written(latest, name)
                    .zip(written(start, name))
                    .and_then(|(newer, older)| per_second(newer, older, elapsed)),
                _ => None,
            };
            TopicView {
                name: name.to_owned(),
                writers: ServiceName::FLOW
                    .into_iter()
                    .filter(|s| {
                        s.produces().contains(&topic)
                            || (topic == Topic::Status && s.writes_status())
                    })
                    .map(ServiceName::as_str)
                    .collect(),
                readers: ServiceName::FLOW
                    .into_iter()
                    .filter(|s| s.consumes().contains(&topic))
                    .map(ServiceName::as_str)
                    .collect(),
                rate,
            }
        })
        .collect();
    let by_source = match latest.map(|r| &r.dead_letters) {
        Some(Ok(counts)) => counts.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        Some(Err(why)) => {
            problems.push(format!("dead letters: {why}"));
            Vec::new()
        }
        None => Vec::new(),
    };
    let stuck_orders = match latest.map(|r| &r.stuck) {
        Some(Ok(count)) => Some(*count),
        Some(Err(why)) => {
            problems.push(format!("stuck orders: {why}"));
            None
        }
        None => None,
    };
    Floor {
        services,
        topics: topic_views,
        dead_letters: DeadLetters {
            topic: topics.dead_letter.clone(),
            by_source,
        },
        stuck_orders,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::kafka::PartitionOffsets;

    fn topics() -> Topics {
        let name = |t: Topic| t.default_name().to_owned();
        Topics {
            ordered: name(Topic::Ordered),
            assembled: name(Topic::Assembled),
            baked: name(Topic::Baked),
            delivered: name(Topic::Delivered),
            pending: name(Topic::Pending),
            status: name(Topic::Status),
            dead_letter: name(Topic::DeadLetter),
        }
    }

    fn groups() -> BTreeMap<ServiceName, String> {
        [
            (ServiceName::Assemble, "pizza_assembled"),
            (ServiceName::Bake, "pizza_baked"),
            (ServiceName::Delivery, "pizza_delivery"),
            (ServiceName::Status, "pizza_status"),
        ]
        .into_iter()
        .map(|(s, g)| (s, g.to_owned()))
        .collect()
    }

    fn partition(topic: &str, newest: i64, committed: Option<i64>) -> PartitionOffsets {
        PartitionOffsets {
            topic: topic.to_owned(),
            partition: 0,
            oldest: 0,
            newest,
            committed,
        }
    }

    /// A reading where bake has `members` and has handled `baked` of `assembled` events.
    fn reading(at: Instant, assembled: i64, baked: Option<i64>, members: usize) -> Reading {
        let member = Member {
            client_id: "pizza_client_bake-host".into(),
            host: "10.0.0.7".into(),
            partitions: Some(vec![("pizza-assembled".into(), 0)]),
        };
        let bake = GroupOffsets {
            partitions: vec![partition("pizza-assembled", assembled, baked)],
            members: Some(vec![member; members]),
        };
        Reading {
            at,
            groups: [(ServiceName::Bake, GroupReading::Read(bake))].into(),
            ends: Some([("pizza-assembled".to_owned(), assembled)].into()),
            dead_letters: Ok([("pizza-ordered".to_owned(), 2)].into()),
            stuck: Ok(1),
        }
    }

    fn bake(floor: &Floor) -> &ServiceView {
        floor
            .services
            .iter()
            .find(|s| s.name == "bake")
            .expect("bake is on the floor")
    }

    #[test]
    fn a_stopped_service_stays_on_the_floor_down_with_what_waits_for_it() {
        let t0 = Instant::now();
        let mut history = History::default();
        history.push(reading(t0, 10, Some(10), 1));
        history.push(reading(t0 + Duration::from_secs(10), 13, Some(10), 0));
        let floor = floor(&history, &topics(), &groups());
        let bake = bake(&floor);
        assert_eq!(bake.state, "down");
        assert_eq!(bake.reads[0].lag, 3);
        assert_eq!(bake.reads[0].words, "3 pizzas waiting at the oven");
        assert_eq!(bake.reads[0].drain, "not moving");
        assert_eq!(bake.reads[0].history, vec![0, 3]);
        let assembled = floor
            .topics
            .iter()
            .find(|t| t.name == "pizza-assembled")
            .expect("drawn");
        assert_eq!(assembled.rate, Some(0.3), "3 events written in 10 s");
        assert_eq!(assembled.writers, vec!["assemble"]);
        assert_eq!(assembled.readers, vec!["bake"]);
    }

    #[test]
    fn a_running_service_shows_its_members_partitions_and_time_to_drain() {
        let t0 = Instant::now();
        let mut history = History::default();
        history.push(reading(t0, 20, Some(0), 1));
        history.push(reading(t0 + Duration::from_secs(10), 20, Some(10), 1));
        let floor = floor(&history, &topics(), &groups());
        let bake = bake(&floor);
        assert_eq!(bake.state, "up");
        let members = bake.members.as_ref().expect("described");
        assert_eq!(
            members[0].partitions,
            Some(vec!["pizza-assembled/0".to_owned()])
        );
        assert_eq!(bake.reads[0].rate, 1.0);
        assert_eq!(bake.reads[0].drain, "about 10 s to work off at 1.0/s");
        assert_eq!(
            floor.dead_letters.by_source,
            vec![("pizza-ordered".to_owned(), 2)]
        );
        assert_eq!(floor.stuck_orders, Some(1));
    }

    #[test]
    fn nothing_committed_is_shown_as_such_and_counts_every_kept_event() {
        let mut history = History::default();
        history.push(reading(Instant::now(), 4, None, 1));
        let floor = floor(&history, &topics(), &groups());
        let waiting = &bake(&floor).reads[0];
        assert_eq!(waiting.partitions[0].committed, None);
        assert_eq!(waiting.lag, 4);
        assert_eq!(waiting.drain, "rate not known yet");
    }

    #[test]
    fn unread_groups_are_unknown_and_the_reason_is_given() {
        let mut history = History::default();
        let mut first = reading(Instant::now(), 1, Some(1), 1);
        first.groups.insert(
            ServiceName::Assemble,
            GroupReading::Failed("broker down".into()),
        );
        history.push(first);
        let floor = floor(&history, &topics(), &groups());
        let assemble = floor
            .services
            .iter()
            .find(|s| s.name == "assemble")
            .expect("drawn");
        assert_eq!(assemble.state, "unknown");
        assert!(floor
            .problems
            .iter()
            .any(|p| p.contains("pizza_assembled") && p.contains("broker down")));
        let webapp = floor
            .services
            .iter()
            .find(|s| s.name == "webapp")
            .expect("drawn");
        assert_eq!(webapp.writes, vec!["pizza-ordered", "pizza-status"]);
    }

    #[test]
    fn words_for_every_wait() {
        assert_eq!(
            waiting_words(ServiceName::Bake, Topic::Assembled, 1),
            "1 pizza waiting at the oven"
        );
        assert_eq!(
            waiting_words(ServiceName::Delivery, Topic::Ordered, 2),
            "2 early warnings not yet read by the driver"
        );
        assert_eq!(
            waiting_words(ServiceName::Assemble, Topic::Ordered, 0),
            "nothing waiting"
        );
        assert_eq!(drain_words(0, None), "all caught up");
        assert_eq!(
            drain_words(600, Some(2.0)),
            "about 5 min to work off at 2.0/s"
        );
    }

    #[test]
    fn history_keeps_only_the_last_minutes() {
        let t0 = Instant::now();
        let mut history = History::default();
        for i in 0..200 {
            history.push(reading(t0 + Duration::from_secs(2 * i), 1, Some(1), 1));
        }
        assert_eq!(
            history.readings.len(),
            151,
            "five minutes of readings 2 s apart"
        );
    }
}
