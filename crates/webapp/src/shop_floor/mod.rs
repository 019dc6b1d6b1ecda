//! The shop floor (`/shop-floor`): the shop's wiring drawn from its declaration as a graph
//! ([`graph`]), with what flows along each edge and what waits where, read from the broker while
//! someone watches and pushed to the page as it changes; and a drill-down to each topic (its
//! partitions, its contract, its latest events: [`latest`]) and each program (its group, its
//! members, what it has in hand and what waits for it: [`programs`]).

mod graph;
mod latest;
mod model;
mod programs;
mod view;
mod watch;

pub use view::Floor;
pub use watch::{Following, ShopFloor};

use std::convert::Infallible;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use common::contracts::{Contracts, Field};
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::settings::{KafkaSettings, SysSettings};
use store::Orders;
use tokio_util::sync::CancellationToken;

use self::latest::{Latest, Shown, SHOWN};
use crate::error::AppError;
use crate::http::rate_limit::RateLimit;
use crate::http::sse::sse;
use crate::http::stream_limits::{StreamLimits, StreamPermit};
use crate::pages::render;
use crate::session::Customer;

/// What the shop floor's handlers need.
pub struct FloorState {
    pub floor: ShopFloor,
    /// The caps on open streams, shared with the order pages'.
    pub streams: StreamLimits,
    pub shutdown: CancellationToken,
    pub sys: Arc<SysSettings>,
    pub kafka: KafkaSettings,
    /// How the web app names itself to the cluster.
    pub client_id: String,
    /// Whose each order is, so no customer sees another's.
    pub orders: Arc<dyn Orders>,
    /// `[webapp] lookups_per_minute`, shared with the orders' lineage.
    pub lookups: Arc<RateLimit>,
    latest: Latest,
}

impl std::fmt::Debug for FloorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloorState")
            .field("floor", &self.floor)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl FloorState {
    #[allow(
        clippy::too_many_arguments,
        reason = "each part is one of the state's own"
    )]
    pub fn new(
        floor: ShopFloor,
        streams: StreamLimits,
        shutdown: CancellationToken,
        sys: Arc<SysSettings>,
        kafka: KafkaSettings,
        client_id: String,
        orders: Arc<dyn Orders>,
        lookups: Arc<RateLimit>,
    ) -> Self {
        Self {
            floor,
            streams,
            shutdown,
            sys,
            kafka,
            client_id,
            orders,
            lookups,
            latest: Latest::default(),
        }
    }
}

/// The shop floor: its picture is drawn by its script from the pushed figures; the page itself
/// carries the wiring, for a browser without scripts.
#[derive(Debug, Template)]
#[template(path = "shop_floor.html")]
struct ShopFloorPage<'a> {
    username: Option<&'a str>,
    searched: &'a str,
    floor: Floor,
    top: i32,
    width: i32,
    height: i32,
}

pub async fn page(
    State(state): State<Arc<FloorState>>,
    customer: Customer,
) -> Result<Response, AppError> {
    render(ShopFloorPage {
        username: Some(&customer.username),
        searched: "",
        floor: state.floor.now(),
        top: graph::TOP,
        width: graph::WIDTH,
        height: graph::HEIGHT - graph::TOP,
    })
}

/// `GET /shop-floor/events`: the floor's figures now (once the first reading is in), then each
/// time they change. Counted against the customer's streams like the order pages' streams.
pub async fn events(
    State(state): State<Arc<FloorState>>,
    customer: Customer,
) -> Result<Response, AppError> {
    let permit = state.streams.open(&customer.customer_id)?;
    let stream = FloorStream {
        following: state.floor.follow(),
        sent_first: false,
        shutdown: state.shutdown.clone(),
        _permit: permit,
    };
    Ok(sse(futures::stream::unfold(stream, FloorStream::next)))
}

struct FloorStream {
    following: Following,
    sent_first: bool,
    shutdown: CancellationToken,
    _permit: StreamPermit,
}

impl FloorStream {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if !self.sent_first {
                self.sent_first = true;
                let floor = self.following.borrow_and_update().clone();
                if let Some(floor) = floor {
                    return Some((Ok(event(&floor)), self));
                }
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                changed = self.following.changed() => changed.ok()?,
            }
            let floor = self.following.borrow_and_update().clone();
            if let Some(floor) = floor {
                return Some((Ok(event(&floor)), self));
            }
        }
    }
}

fn event(floor: &Arc<Floor>) -> Event {
    Event::default().data(serde_json::to_string(floor.as_ref()).unwrap_or_default())
}

/// The shop's own topics a drill-down may show (the dead-letter topic has no contract, and its
/// letters carry other customers' events whole).
fn drawn_topic(state: &FloorState, name: &str) -> Option<Topic> {
    state
        .sys
        .topics
        .topic(name)
        .filter(|topic| *topic != Topic::DeadLetter)
}

#[derive(Debug, Template)]
#[template(path = "shop_floor_topic.html")]
struct TopicPage<'a> {
    username: Option<&'a str>,
    searched: &'a str,
    topic: &'a str,
    writers: Vec<&'static str>,
    readers: Vec<&'static str>,
    /// (partition, first offset kept, next offset), as the broker says now.
    partitions: Vec<(i32, i64, i64)>,
    contract_file: &'static str,
    contract_version: u64,
    contract_title: String,
    fields: Vec<Field>,
    events: Vec<Shown>,
    shown: usize,
    withheld: &'static str,
    problems: Vec<String>,
}

/// `GET /shop-floor/topics/<topic>`: its partitions, its contract and its latest events, read
/// now; its readers' lag and rates follow by push (the floor's stream).
pub async fn topic(
    State(state): State<Arc<FloorState>>,
    customer: Customer,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let topic = drawn_topic(&state, &name).ok_or(AppError::NotFound)?;
    state.lookups.check(&customer.customer_id)?;
    let contract = Contracts::shop()
        .map_err(|e| AppError::Internal(Box::new(e)))?
        .of_topic(topic)
        .ok_or(AppError::NotFound)?;
    let mut problems = Vec::new();
    let (kafka, client_id, topic_name) =
        (state.kafka.clone(), state.client_id.clone(), name.clone());
    let partitions = tokio::task::spawn_blocking(move || {
        common::kafka::HistoryReader::new(&kafka, &client_id, std::time::Duration::from_secs(5))
            .and_then(|reader| reader.watermarks(&topic_name))
    })
    .await
    .map_err(|e| AppError::Internal(Box::new(e)))?
    .unwrap_or_else(|error| {
        problems.push(common::runtime::logging::error_chain(&error));
        Vec::new()
    });
    let events = match state.latest.of(&state.kafka, &state.client_id, &name).await {
        Ok(records) => {
            latest::shown(
                &records,
                &customer.customer_id,
                state.orders.as_ref(),
                &state.sys.topics.ordered,
            )
            .await
        }
        Err(why) => {
            problems.push(why);
            Vec::new()
        }
    };
    let names =
        |services: Vec<ServiceName>| services.into_iter().map(ServiceName::as_str).collect();
    render(TopicPage {
        username: Some(&customer.username),
        searched: "",
        topic: &name,
        writers: names(ServiceName::writers(topic)),
        readers: names(ServiceName::readers(topic)),
        partitions,
        contract_file: contract.file,
        contract_version: contract.version(),
        contract_title: contract
            .schema
            .get("description")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        fields: contract.fields(),
        events,
        shown: SHOWN,
        withheld: latest::WITHHELD,
        problems,
    })
}

/// `GET /shop-floor/contracts/<file>`: a topic's contract, as compiled into this program.
pub async fn contract(
    State(state): State<Arc<FloorState>>,
    _customer: Customer,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let name = file.strip_suffix(".json").ok_or(AppError::NotFound)?;
    let topic = drawn_topic(&state, name).ok_or(AppError::NotFound)?;
    let contract = Contracts::shop()
        .map_err(|e| AppError::Internal(Box::new(e)))?
        .of_topic(topic)
        .ok_or(AppError::NotFound)?;
    Ok(axum::Json(contract.schema.clone()).into_response())
}

#[derive(Debug, Template)]
#[template(path = "shop_floor_program.html")]
struct ProgramPage<'a> {
    username: Option<&'a str>,
    searched: &'a str,
    program: &'static str,
    group: Option<&'a str>,
    reads: Vec<&'a str>,
    writes: Vec<&'a str>,
}

/// `GET /shop-floor/programs/<name>`: its group, members and partitions, what waits for it and
/// what it has in hand, and where its metrics are; filled in by push (the floor's stream).
pub async fn program(
    State(state): State<Arc<FloorState>>,
    customer: Customer,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let program = ServiceName::parse(&name).ok_or(AppError::NotFound)?;
    let topics = &state.sys.topics;
    let mut writes: Vec<&str> = topics.names(program.produces());
    if program.writes_status() {
        writes.push(&topics.status);
    }
    render(ProgramPage {
        username: Some(&customer.username),
        searched: "",
        program: program.as_str(),
        group: state.sys.group_ids.of(program),
        reads: topics.names(program.consumes()),
        writes,
    })
}
