//! What the shop floor shows, as it is sent to the pages (JSON) and drawn by the templates.

use serde::Serialize;

/// The page's whole state, sent as JSON to every watcher.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Floor {
    /// The bird's eye view: every program and topic, and an edge for every write and read.
    pub graph: Graph,
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
    /// Where it serves its metrics on this host, when it says so in its log.
    pub metrics_url: Option<String>,
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
    /// Events not yet committed: in hand and waiting.
    pub lag: i64,
    /// Of those, the ones the service is handling now (from its metrics on this host; `None`
    /// when it does not say).
    pub in_hand: Option<i64>,
    /// The rest: not yet taken up.
    pub waiting: i64,
    /// What waits and what is in hand, in the shop's words: "3 pizzas waiting at the oven".
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
    pub partitions: Vec<TopicPartitionView>,
    /// Values that broke this topic's contract, by who caught them (`producer`: the sender's
    /// own check, its input dead-lettered; `broker`: refused by the broker).
    pub contract_breaks: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopicPartitionView {
    pub partition: i32,
    /// The offset the next event gets: how many were ever written there.
    pub end: i64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeadLetters {
    pub topic: String,
    /// By the topic each came from.
    pub by_source: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Graph {
    pub nodes: Vec<NodeView>,
    pub edges: Vec<EdgeView>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeView {
    pub id: String,
    pub label: String,
    /// `program`, `topic` or `ksqldb`.
    pub kind: &'static str,
    /// Its centre, its top left corner and its size.
    pub x: i32,
    pub y: i32,
    pub left: i32,
    pub top: i32,
    pub w: i32,
    pub h: i32,
    /// A program's `up`, `down` or `unknown`; empty for a topic.
    pub state: &'static str,
    /// Where a click leads: the node's drill-down.
    pub href: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EdgeView {
    pub id: String,
    /// `write` (program to topic) or `read` (topic to program).
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    /// The SVG path.
    pub path: String,
    pub label_x: i32,
    pub label_y: i32,
    /// What flows: `2.0/s`, and for a read what waits and what is in hand.
    pub label: String,
    /// `backed-up` while events wait for a reader that is down or not moving; else empty.
    pub state: &'static str,
}
