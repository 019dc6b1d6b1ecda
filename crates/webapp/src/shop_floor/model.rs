//! What the shop floor shows, worked out from readings of the broker: pure functions, so the
//! page's figures and words are tested without one.
//!
//! The picture is the shop's declared wiring ([`ServiceName::consumes`], `produces`), not what
//! happens to be running, so a stopped service stays on it, marked down, with what waits for it.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{GroupOffsets, Member, Tally};
use common::settings::Topics;

use super::graph;
use super::view::{
    DeadLetters, Floor, MemberView, PartitionView, ServiceView, TopicPartitionView, TopicView,
    WaitingView,
};

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

/// What a program on this host says of itself (its `/metrics`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ProgramReading {
    /// Where it serves them.
    pub url: String,
    /// Events it holds now, by the topic they came from: in hand, not waiting.
    pub in_flight: BTreeMap<String, i64>,
    /// Events it has sent, by topic, since it started.
    pub sent: BTreeMap<String, u64>,
}

/// One round of readings, at one moment.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    pub at: Instant,
    pub groups: BTreeMap<ServiceName, GroupReading>,
    /// The end of every partition of every topic drawn, for what is written along each edge.
    pub ends: Option<BTreeMap<(String, i32), i64>>,
    /// What the dead-letter topic holds, counted, or why it could not be.
    pub dead_letters: Result<Tally, String>,
    /// Orders the watchdog flags stuck now, or why that could not be asked.
    pub stuck: Result<u64, String>,
    /// What each program on this host said of itself, or why it did not.
    pub programs: BTreeMap<ServiceName, Result<ProgramReading, String>>,
    /// The stages whose statuses ksqlDB's queries copy, as the web app's sender sees them.
    pub ksqldb: Vec<Topic>,
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
    let ends = reading.ends.as_ref()?;
    Some(
        ends.iter()
            .filter(|((t, _), _)| t == topic)
            .map(|(_, end)| end)
            .sum(),
    )
}

fn partition_end(reading: &Reading, topic: &str, partition: i32) -> Option<i64> {
    reading
        .ends
        .as_ref()?
        .get(&(topic.to_owned(), partition))
        .copied()
}

fn program(reading: &Reading, service: ServiceName) -> Option<&ProgramReading> {
    reading.programs.get(&service)?.as_ref().ok()
}

fn in_hand(reading: &Reading, service: ServiceName, topic: &str) -> Option<i64> {
    program(reading, service).map(|p| p.in_flight.get(topic).copied().unwrap_or_default())
}

fn sent(reading: &Reading, service: ServiceName, topic: &str) -> Option<i64> {
    program(reading, service)
        .map(|p| i64::try_from(p.sent.get(topic).copied().unwrap_or_default()).unwrap_or(i64::MAX))
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

/// What a service has in hand from `topic`, in the shop's words: "1 pizza in the oven".
pub(crate) fn in_hand_words(service: ServiceName, topic: Topic, in_hand: i64) -> String {
    let (one, many, doing) = match (service, topic) {
        (ServiceName::Assemble, _) => ("order", "orders", "being assembled"),
        (ServiceName::Bake, _) => ("pizza", "pizzas", "in the oven"),
        (ServiceName::Delivery, Topic::Ordered) => {
            ("early warning", "early warnings", "being read")
        }
        (ServiceName::Delivery, _) => ("pizza", "pizzas", "on the road"),
        (ServiceName::Status, _) => ("status update", "status updates", "being written"),
        (ServiceName::Webapp, _) => ("event", "events", "in hand"),
    };
    let noun = if in_hand == 1 { one } else { many };
    format!("{in_hand} {noun} {doing}")
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
                // Its own count can run ahead of the broker's (handled, not yet committed).
                let in_hand = latest
                    .and_then(|r| in_hand(r, service, name))
                    .map(|n| n.clamp(0, lag));
                let waiting = lag - in_hand.unwrap_or_default();
                let words = match in_hand {
                    Some(n) if n > 0 => format!(
                        "{}; {}",
                        waiting_words(service, topic, waiting),
                        in_hand_words(service, topic, n)
                    ),
                    _ => waiting_words(service, topic, waiting),
                };
                let rate = match (latest, start) {
                    (Some(latest), Some(start)) => handled(latest, service, name)
                        .zip(handled(start, service, name))
                        .and_then(|(newer, older)| per_second(newer, older, elapsed)),
                    _ => None,
                };
                WaitingView {
                    topic: name.to_owned(),
                    lag,
                    in_hand,
                    waiting,
                    words,
                    rate: rate.unwrap_or_default(),
                    // What is in hand is being worked off already.
                    drain: if lag > 0 && waiting == 0 {
                        "every one in hand".to_owned()
                    } else {
                        drain_words(lag, rate)
                    },
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
        let metrics_url = latest
            .and_then(|r| program(r, service))
            .map(|p| p.url.clone());
        // A stopped program says nothing, and is drawn down already.
        if let (Some(Err(why)), false) = (
            latest.and_then(|r| r.programs.get(&service)),
            state == "down",
        ) {
            problems.push(format!("{service}'s metrics: {why}"));
        }
        services.push(ServiceView {
            name: service.as_str(),
            state,
            group,
            writes,
            members: members.map(|m| m.iter().map(member_view).collect()),
            reads,
            metrics_url,
        });
    }
    let topic_views: Vec<TopicView> = DRAWN
        .iter()
        .map(|&topic| {
            let name = topics.name(topic);
            let rate = match (latest, start) {
                (Some(latest), Some(start)) => written(latest, name)
                    .zip(written(start, name))
                    .and_then(|(newer, older)| per_second(newer, older, elapsed)),
                _ => None,
            };
            let partitions = latest
                .and_then(|r| r.ends.as_ref())
                .map(|ends| {
                    ends.iter()
                        .filter(|((t, _), _)| t == name)
                        .map(|((_, partition), &end)| TopicPartitionView {
                            partition: *partition,
                            end,
                            rate: start
                                .and_then(|s| partition_end(s, name, *partition))
                                .and_then(|older| per_second(end, older, elapsed)),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let contract_breaks = match latest.map(|r| &r.dead_letters) {
                Some(Ok(tally)) => tally
                    .contract_breaks
                    .get(name)
                    .map(|by| by.iter().map(|(k, v)| (k.clone(), *v)).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            TopicView {
                name: name.to_owned(),
                writers: ServiceName::writers(topic)
                    .into_iter()
                    .map(ServiceName::as_str)
                    .collect(),
                readers: ServiceName::readers(topic)
                    .into_iter()
                    .map(ServiceName::as_str)
                    .collect(),
                rate,
                partitions,
                contract_breaks,
            }
        })
        .collect();
    let by_source = match latest.map(|r| &r.dead_letters) {
        Some(Ok(tally)) => tally
            .by_source
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
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
    let writes = |service: ServiceName, topic: &str| match (latest, start) {
        (Some(latest), Some(start)) => sent(latest, service, topic)
            .zip(sent(start, service, topic))
            .and_then(|(newer, older)| per_second(newer, older, elapsed)),
        _ => None,
    };
    let ksqldb = latest.map(|r| r.ksqldb.clone()).unwrap_or_default();
    let graph = graph::draw(&services, &topic_views, topics, &ksqldb, writes);
    Floor {
        graph,
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
        let tally = Tally {
            by_source: [("pizza-ordered".to_owned(), 2)].into(),
            contract_breaks: [(
                "pizza-assembled".to_owned(),
                [("broker".to_owned(), 1)].into(),
            )]
            .into(),
        };
        Reading {
            at,
            groups: [(ServiceName::Bake, GroupReading::Read(bake))].into(),
            ends: Some([(("pizza-assembled".to_owned(), 0), assembled)].into()),
            dead_letters: Ok(tally),
            stuck: Ok(1),
            programs: BTreeMap::new(),
            ksqldb: Vec::new(),
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
    fn what_a_service_has_in_hand_is_not_called_waiting() {
        let t0 = Instant::now();
        let mut history = History::default();
        let mut first = reading(t0, 3, Some(0), 1);
        let baking = ProgramReading {
            url: "http://127.0.0.1:9403/metrics".into(),
            in_flight: [("pizza-assembled".to_owned(), 2)].into(),
            sent: [("pizza-baked".to_owned(), 5)].into(),
        };
        first.programs.insert(ServiceName::Bake, Ok(baking.clone()));
        history.push(first);
        let mut second = reading(t0 + Duration::from_secs(10), 3, Some(0), 1);
        let more = ProgramReading {
            sent: [("pizza-baked".to_owned(), 15)].into(),
            ..baking
        };
        second.programs.insert(ServiceName::Bake, Ok(more));
        history.push(second);
        let floor = floor(&history, &topics(), &groups());
        let oven = &bake(&floor).reads[0];
        assert_eq!((oven.lag, oven.in_hand, oven.waiting), (3, Some(2), 1));
        assert_eq!(
            oven.words,
            "1 pizza waiting at the oven; 2 pizzas in the oven"
        );
        assert_eq!(
            bake(&floor).metrics_url.as_deref(),
            Some("http://127.0.0.1:9403/metrics")
        );
        let edge = |id: &str| {
            floor
                .graph
                .edges
                .iter()
                .find(|e| e.id == id)
                .unwrap_or_else(|| panic!("{id} drawn"))
                .clone()
        };
        assert_eq!(
            edge("write:bake:pizza-baked").label,
            "1.0/s",
            "from its metrics"
        );
        assert_eq!(
            edge("read:pizza-assembled:bake").label,
            "0.0/s · 1 waiting · 2 in hand"
        );
        let assembled = floor
            .topics
            .iter()
            .find(|t| t.name == "pizza-assembled")
            .expect("drawn");
        assert_eq!(assembled.contract_breaks, vec![("broker".to_owned(), 1)]);
        assert_eq!(assembled.partitions[0].end, 3);
    }

    #[test]
    fn the_graph_has_every_program_topic_write_and_read_and_shows_a_pile_up() {
        let t0 = Instant::now();
        let mut history = History::default();
        history.push(reading(t0, 10, Some(10), 1));
        history.push(reading(t0 + Duration::from_secs(10), 13, Some(10), 0));
        let floor = floor(&history, &topics(), &groups());
        let graph = &floor.graph;
        assert_eq!(graph.nodes.len(), 11, "five programs, six topics");
        let node = |id: &str| graph.nodes.iter().find(|n| n.id == id).expect("a node");
        assert_eq!(node("bake").state, "down");
        // Every write and read of the wiring: five programs' stage topics and statuses, and
        // the five reads (delivery reads two topics).
        let writes = graph.edges.iter().filter(|e| e.kind == "write").count();
        let reads = graph.edges.iter().filter(|e| e.kind == "read").count();
        assert_eq!((writes, reads), (9, 5));
        let into_bake = graph
            .edges
            .iter()
            .find(|e| e.id == "read:pizza-assembled:bake")
            .expect("drawn");
        assert_eq!(into_bake.state, "backed-up");
        assert_eq!(into_bake.label, "0.0/s · 3 waiting");
        for node in &graph.nodes {
            assert!(
                node.left >= 0 && node.left + node.w <= graph::WIDTH,
                "{} fits the width",
                node.id
            );
        }
    }

    #[test]
    fn ksqldb_is_drawn_as_the_writer_of_the_statuses_it_copies() {
        let mut history = History::default();
        let mut copied = reading(Instant::now(), 1, Some(1), 1);
        copied.ksqldb = Topic::STAGES.to_vec();
        history.push(copied);
        let floor = floor(&history, &topics(), &groups());
        let ids: Vec<&str> = floor.graph.edges.iter().map(|e| e.id.as_str()).collect();
        assert!(ids.contains(&"write:ksqlDB:pizza-status"), "{ids:?}");
        assert!(ids.contains(&"read:pizza-baked:ksqlDB"), "{ids:?}");
        assert!(!ids.contains(&"write:bake:pizza-status"), "{ids:?}");
        assert!(floor.graph.nodes.iter().any(|n| n.id == "ksqlDB"));
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
