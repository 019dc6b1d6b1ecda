//! The shop floor's bird's eye view, as the guide's Stream Lineage draws it: the programs and the
//! topics as nodes, an edge for every write and every read, each labelled with what flows along
//! it (and, for a read, what waits for the reader and what it has in hand). The layout is fixed,
//! in the order an order meets each node; the page draws it as SVG and its script rewrites the
//! labels and states from each push, by the ids given here.

use super::view::{EdgeView, Graph, NodeView, ServiceView, TopicView};
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::settings::Topics;

/// The drawing's size: it fits a 1280 px window without scrolling sideways.
pub(super) const WIDTH: i32 = 1200;
pub(super) const HEIGHT: i32 = 440;
/// Room above the programs for the early warning's arc.
pub(super) const TOP: i32 = -50;
const PROGRAM: (i32, i32) = (112, 44);
const TOPIC: (i32, i32) = (150, 34);

/// Where each node is drawn.
fn place(node: &str, topics: &Topics) -> (i32, i32) {
    let topic = |t: Topic| topics.name(t) == node;
    // Programs above, topics below, so every edge of the kitchen's line is long enough to carry
    // its label; the statuses at the bottom, where every writer's edge meets.
    match node {
        "webapp" => (70, 40),
        "assemble" => (420, 40),
        "bake" => (770, 40),
        "delivery" => (1120, 40),
        "status" => (820, 400),
        "ksqlDB" => (470, 290),
        _ if topic(Topic::Ordered) => (245, 160),
        _ if topic(Topic::Assembled) => (595, 160),
        _ if topic(Topic::Baked) => (945, 160),
        _ if topic(Topic::Pending) => (1000, 290),
        _ if topic(Topic::Delivered) => (1120, 200),
        _ => (470, 400),
    }
}

fn rate_words(rate: Option<f64>) -> String {
    rate.map_or_else(|| "…".to_owned(), |r| format!("{r:.1}/s"))
}

/// The size a node is drawn at.
fn size(node: &str, topics: &Topics) -> (i32, i32) {
    if topics.topic(node).is_some() {
        TOPIC
    } else {
        PROGRAM
    }
}

/// Where the line from `from` towards `to` leaves a box of `size` around `from`.
fn border(from: (i32, i32), to: (i32, i32), size: (i32, i32)) -> (i32, i32) {
    let (dx, dy) = (f64::from(to.0 - from.0), f64::from(to.1 - from.1));
    let (hw, hh) = (f64::from(size.0) / 2.0 + 4.0, f64::from(size.1) / 2.0 + 4.0);
    let t = [hw / dx.abs(), hh / dy.abs()]
        .into_iter()
        .filter(|t| t.is_finite())
        .fold(1.0_f64, f64::min);
    (from.0 + (dx * t) as i32, from.1 + (dy * t) as i32)
}

/// A straight edge between two nodes, from border to border, but the early warning
/// (`pizza-ordered` to `delivery`), which would run through every station: it arcs above them.
fn path(
    from: (i32, i32),
    to: (i32, i32),
    sizes: ((i32, i32), (i32, i32)),
    over: bool,
) -> (String, i32, i32) {
    if over {
        let top = to.1 - 85;
        let d = format!(
            "M{},{} C{},{} {},{} {},{}",
            from.0,
            from.1 - TOPIC.1 / 2,
            from.0,
            top,
            to.0,
            top,
            to.0,
            to.1 - PROGRAM.1 / 2
        );
        return (d, (from.0 + to.0) / 2, top + 16);
    }
    let (start, end) = (border(from, to, sizes.0), border(to, from, sizes.1));
    let d = format!("M{},{} L{},{}", start.0, start.1, end.0, end.1);
    (d, (from.0 + to.0) / 2, (from.1 + to.1) / 2 - 6)
}

fn edge(
    kind: &'static str,
    from: &str,
    to: &str,
    topics: &Topics,
    label: String,
    state: &'static str,
) -> EdgeView {
    let over = kind == "read" && from == topics.ordered && to == "delivery";
    let sizes = (size(from, topics), size(to, topics));
    let (d, x, y) = path(place(from, topics), place(to, topics), sizes, over);
    EdgeView {
        id: format!("{kind}:{from}:{to}"),
        kind,
        from: from.to_owned(),
        to: to.to_owned(),
        path: d,
        label_x: x,
        label_y: y,
        label,
        state,
    }
}

/// The graph from the floor's figures. `writes(service, topic)` is what `service` sends to
/// `topic` per second, when it says; `ksqldb` the stages whose statuses ksqlDB copies.
pub(crate) fn draw(
    services: &[ServiceView],
    topic_views: &[TopicView],
    topics: &Topics,
    ksqldb: &[Topic],
    writes: impl Fn(ServiceName, &str) -> Option<f64>,
) -> Graph {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for service in services {
        let (x, y) = place(service.name, topics);
        nodes.push(NodeView {
            id: service.name.to_owned(),
            label: service.name.to_owned(),
            kind: "program",
            x,
            y,
            left: x - PROGRAM.0 / 2,
            top: y - PROGRAM.1 / 2,
            w: PROGRAM.0,
            h: PROGRAM.1,
            state: service.state,
            href: format!("/shop-floor/programs/{}", service.name),
        });
    }
    for topic in topic_views {
        let (x, y) = place(&topic.name, topics);
        nodes.push(NodeView {
            id: topic.name.clone(),
            label: topic.name.clone(),
            kind: "topic",
            x,
            y,
            left: x - TOPIC.0 / 2,
            top: y - TOPIC.1 / 2,
            w: TOPIC.0,
            h: TOPIC.1,
            state: "",
            href: format!("/shop-floor/topics/{}", topic.name),
        });
    }
    let copied: Vec<&str> = ksqldb.iter().map(|&t| topics.name(t)).collect();
    if !copied.is_empty() {
        let (x, y) = place("ksqlDB", topics);
        nodes.push(NodeView {
            id: "ksqlDB".into(),
            label: "ksqlDB".into(),
            kind: "ksqldb",
            x,
            y,
            left: x - PROGRAM.0 / 2,
            top: y - PROGRAM.1 / 2,
            w: PROGRAM.0,
            h: PROGRAM.1,
            state: "up",
            href: "/shop-floor/topics/".to_owned() + &topics.status,
        });
    }
    for service in services {
        let Some(name) = ServiceName::parse(service.name) else {
            continue;
        };
        for topic in &service.writes {
            // A stage's status that ksqlDB copies is written by ksqlDB, not the program.
            let stage_copied = *topic == topics.status
                && name
                    .produces()
                    .iter()
                    .any(|t| copied.contains(&topics.name(*t)));
            if stage_copied {
                continue;
            }
            let single = topic_views
                .iter()
                .find(|t| &t.name == topic)
                .filter(|t| t.writers.len() == 1)
                .and_then(|t| t.rate);
            let rate = writes(name, topic).or(single);
            edges.push(edge(
                "write",
                service.name,
                topic,
                topics,
                rate_words(rate),
                "",
            ));
        }
        for waiting in &service.reads {
            let mut label = rate_words(Some(waiting.rate));
            if waiting.waiting > 0 {
                label += &format!(" · {} waiting", waiting.waiting);
            }
            if let Some(n) = waiting.in_hand.filter(|n| *n > 0) {
                label += &format!(" · {n} in hand");
            }
            let stalled = service.state == "down" || waiting.rate == 0.0;
            let state = if waiting.waiting > 0 && stalled {
                "backed-up"
            } else {
                ""
            };
            edges.push(edge(
                "read",
                &waiting.topic,
                service.name,
                topics,
                label,
                state,
            ));
        }
    }
    for topic in &copied {
        let rate = topic_views
            .iter()
            .find(|t| &t.name == topic)
            .and_then(|t| t.rate);
        edges.push(edge("read", topic, "ksqlDB", topics, rate_words(rate), ""));
    }
    if !copied.is_empty() {
        let rates: Option<Vec<f64>> = copied
            .iter()
            .map(|topic| topic_views.iter().find(|t| &t.name == topic)?.rate)
            .collect();
        let total = rates.map(|r| r.iter().sum());
        edges.push(edge(
            "write",
            "ksqlDB",
            &topics.status,
            topics,
            rate_words(total),
            "",
        ));
    }
    Graph { nodes, edges }
}
