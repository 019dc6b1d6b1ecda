//! One order's way through the topics (`/orders/<id>/lineage`), as the guide's Stream Lineage
//! answers it: every event of the order on every topic, in time order, with where it is
//! (topic, partition, offset), when it was written, the program that wrote it, its value, and
//! the time from one hop to the next. Read from the topics themselves on request, from the
//! order's time on, in the partition the order's id belongs to; bounded, and limited per
//! customer.

mod hops;

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use common::domain::topics::Topic;
use common::kafka::HistoryReader;
use common::settings::{KafkaSettings, SysSettings};
use store::Orders;

pub use self::hops::{hops, Hop};
use crate::error::AppError;
use crate::http::rate_limit::RateLimit;
use crate::orders::access::own_order;
use crate::pages::{format_time, render};
use crate::session::Customer;

/// How long one look at the topics may take.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// Events read per topic at most, past the order's time: far more than one partition takes in
/// the minutes an order lasts, on a busy demo.
const SCANNED_PER_TOPIC: usize = 20_000;
/// Read from this long before the order's time: the clocks of the hosts that wrote may differ.
const CLOCK_SLACK_MS: i64 = 60_000;

/// What the lineage page needs.
pub struct LineageState {
    pub sys: Arc<SysSettings>,
    pub kafka: KafkaSettings,
    /// How the web app names itself to the cluster.
    pub client_id: String,
    pub orders: Arc<dyn Orders>,
    /// `[webapp] lookups_per_minute`, shared with the shop floor's looks at the topics.
    pub lookups: Arc<RateLimit>,
}

impl std::fmt::Debug for LineageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineageState")
            .field("client_id", &self.client_id)
            .field("lookups", &self.lookups)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Template)]
#[template(path = "lineage.html")]
struct LineagePage<'a> {
    username: Option<&'a str>,
    searched: &'a str,
    order_id: &'a str,
    placed_at: String,
    hops: Vec<Hop>,
    /// Topics that could not be read, and why.
    problems: Vec<String>,
}

/// The topics an order's events can be on, in the order it meets them; the dead-letter topic
/// last, for an event of it that could not be handled.
const TOPICS: [Topic; 7] = [
    Topic::Ordered,
    Topic::Assembled,
    Topic::Baked,
    Topic::Pending,
    Topic::Delivered,
    Topic::Status,
    Topic::DeadLetter,
];

pub async fn page(
    State(lineage): State<Arc<LineageState>>,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = own_order(lineage.orders.as_ref(), &customer, &order_id).await?;
    lineage.lookups.check(&customer.customer_id)?;
    let since = record.timestamp - CLOCK_SLACK_MS;
    let reading = lineage.clone();
    let id = record.order_id.clone();
    let read = tokio::task::spawn_blocking(move || read_events(&reading, &id, since))
        .await
        .map_err(|e| AppError::Internal(Box::new(e)))?;
    let (records, problems) = read?;
    render(LineagePage {
        username: Some(&customer.username),
        searched: "",
        order_id: &record.order_id,
        placed_at: format_time(record.timestamp),
        hops: hops(records, &lineage.sys),
        problems,
    })
}

/// An order's events, each with the shop topic it is on.
type Events = Vec<(Topic, common::kafka::Record)>;

/// Every topic's events of the order; a topic that cannot be read is said, and the others shown.
fn read_events(
    lineage: &LineageState,
    order_id: &str,
    since_ms: i64,
) -> Result<(Events, Vec<String>), AppError> {
    let reader = HistoryReader::new(&lineage.kafka, &lineage.client_id, PATIENCE)
        .map_err(|e| AppError::Internal(Box::new(e)))?;
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for topic in TOPICS {
        let name = lineage.sys.topics.name(topic);
        match reader.keyed(name, order_id, since_ms, SCANNED_PER_TOPIC) {
            Ok(found) => records.extend(found.into_iter().map(|r| (topic, r))),
            Err(error) => {
                problems.push(common::runtime::logging::error_chain(&error));
            }
        }
    }
    Ok((records, problems))
}
