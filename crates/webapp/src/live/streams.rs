//! Server-sent event streams, so pages change the moment the view does:
//!
//! - `GET /api/orders/<id>/events`: the order's state on connect, then one event per change of
//!   the view, each the same JSON as `/api/orders/<id>`, with the change's sequence number as its
//!   id; it ends after a finished status. Reconnecting with `Last-Event-ID` sends the changes made
//!   since, and nothing else.
//! - `GET /orders/<id>/logs/events`: the order's log entries so far (`snapshot`), then each new
//!   one (`entry`), for the flow panel.
//! - `GET /api/orders/events`: the statuses of the customer's orders, then each change, for
//!   "My orders".
//!
//! Only the order's owner may follow it (404 for anyone else, as for the pages). Streams are
//! counted and capped ([`crate::http::stream_limits`]), keep idle proxies from cutting them
//! ([`crate::http::sse`]), and end on shutdown; when a browser goes away, the stream is dropped
//! with everything it held.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use common::domain::status::StatusAt;
use serde::Serialize;
use store::OrderRecord;
use tokio_util::sync::CancellationToken;

use super::log_feed::FollowingLogs;
use super::log_panel::read_order_logs;
use super::view_feed::Following;
use super::LiveState;
use crate::error::AppError;
use crate::http::sse::sse;
use crate::http::stream_limits::StreamPermit;
use crate::orders::access::own_order;
use crate::orders::json::OrderJson;
use crate::session::Customer;

/// The orders "My orders" shows, and so follows.
const ORDERS_FOLLOWED: usize = 100;

fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
}

/// One order followed: what is still to send, and what comes.
struct OrderStream {
    state: Arc<LiveState>,
    record: OrderRecord,
    queue: VecDeque<(i64, StatusAt)>,
    following: Following,
    last_seen: i64,
    done: bool,
    shutdown: CancellationToken,
    _permit: StreamPermit,
}

impl OrderStream {
    fn finished(&self, status: i64) -> bool {
        self.state.sys.orders_store.rules.is_completed(status)
    }

    fn event(&self, seq: i64, status: StatusAt) -> Event {
        let label = self.state.sys.status.label(status.status);
        let json = OrderJson::new(&self.record, status.status, &label);
        let data = serde_json::to_string(&json).unwrap_or_default();
        Event::default().id(seq.to_string()).data(data)
    }

    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some((seq, status)) = self.queue.pop_front() {
                self.last_seen = self.last_seen.max(seq);
                self.done = self.finished(status.status);
                let event = self.event(seq, status);
                return Some((Ok(event), self));
            }
            if self.done {
                return None;
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                change = self.following.changes.recv() => match change {
                    Some(change) if change.seq > self.last_seen => {
                        self.queue.push_back((change.seq, change.status));
                    }
                    Some(_) => {}
                    // It could not keep up: the browser reconnects and catches up from the store.
                    None => return None,
                },
            }
        }
    }
}

pub async fn order_events(
    State(state): State<Arc<LiveState>>,
    customer: Customer,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    own_order(state.orders.as_ref(), &customer, &order_id).await?;
    let permit = state.streams.open(&customer.customer_id)?;
    // Following first, then reading: a change committed in between arrives twice (the second
    // copy is dropped by its sequence number) instead of not at all.
    let following = state.view_feed.follow_order(&order_id);
    // An id past the newest change was never sent by this shop (or comes from a store since
    // replaced): waiting for it would keep the stream silent for good, so it counts as absent.
    let since = match last_event_id(&headers) {
        Some(id) if id > state.changes.last_change().await? => None,
        other => other,
    };
    let history = state
        .changes
        .order_changes_after(&order_id, since.unwrap_or(0))
        .await?;
    let record = own_order(state.orders.as_ref(), &customer, &order_id).await?;
    let newest = history
        .last()
        .map_or(since.unwrap_or(0), |change| change.seq);
    let queue: VecDeque<(i64, StatusAt)> = match since {
        Some(_) => history.iter().map(|c| (c.seq, c.status)).collect(),
        None => VecDeque::from([(newest, record.status)]),
    };
    let finished = state
        .sys
        .orders_store
        .rules
        .is_completed(record.status.status);
    if queue.is_empty() && finished {
        // Nothing more will come: 204 tells the browser not to reconnect.
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let stream = OrderStream {
        shutdown: state.shutdown.clone(),
        state,
        record,
        queue,
        following,
        last_seen: since.unwrap_or(0),
        done: false,
        _permit: permit,
    };
    Ok(sse(futures::stream::unfold(stream, OrderStream::next)))
}

/// An order's log entries, as the flow panel follows them.
struct LogStream {
    first: Option<Event>,
    following: FollowingLogs,
    shutdown: CancellationToken,
    _permit: StreamPermit,
}

impl LogStream {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        if let Some(first) = self.first.take() {
            return Some((Ok(first), self));
        }
        let entry = tokio::select! {
            () = self.shutdown.cancelled() => return None,
            entry = self.following.entries.recv() => entry?,
        };
        let data = serde_json::to_string(&entry).unwrap_or_default();
        Some((Ok(Event::default().event("entry").data(data)), self))
    }
}

pub async fn log_events(
    State(state): State<Arc<LiveState>>,
    customer: Customer,
    Path(order_id): Path<String>,
) -> Result<Response, AppError> {
    let record = own_order(state.orders.as_ref(), &customer, &order_id).await?;
    state.log_rate.check(&customer.customer_id)?;
    let permit = state.streams.open(&customer.customer_id)?;
    // Following first, then reading what is written: an entry written in between may come
    // twice, and the panel shows it once.
    let following = state.log_feed.follow(&record.order_id);
    let logs = read_order_logs(&state.log_index, record.order_id).await?;
    let snapshot = serde_json::to_string(&logs).unwrap_or_default();
    let stream = LogStream {
        first: Some(Event::default().event("snapshot").data(snapshot)),
        following,
        shutdown: state.shutdown.clone(),
        _permit: permit,
    };
    Ok(sse(futures::stream::unfold(stream, LogStream::next)))
}

/// What "My orders" needs of a change: which order, and what it shows now.
#[derive(Serialize)]
struct StatusJson<'a> {
    order_id: &'a str,
    status: i64,
    status_str: &'a str,
}

struct CustomerStream {
    state: Arc<LiveState>,
    queue: VecDeque<(String, i64)>,
    following: Following,
    shutdown: CancellationToken,
    _permit: StreamPermit,
}

impl CustomerStream {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some((order_id, status)) = self.queue.pop_front() {
                let label = self.state.sys.status.label(status);
                let json = StatusJson {
                    order_id: &order_id,
                    status,
                    status_str: &label,
                };
                let data = serde_json::to_string(&json).unwrap_or_default();
                return Some((Ok(Event::default().data(data)), self));
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                change = self.following.changes.recv() => {
                    let change = change?;
                    self.queue.push_back((change.order_id, change.status.status));
                }
            }
        }
    }
}

pub async fn customer_events(
    State(state): State<Arc<LiveState>>,
    customer: Customer,
) -> Result<Response, AppError> {
    let permit = state.streams.open(&customer.customer_id)?;
    let following = state.view_feed.follow_customer(&customer.customer_id);
    // On every (re)connect, each order's status now: nothing missed while away, and what is
    // sent again shows nothing new.
    let orders = state
        .orders
        .customer_orders(&customer.customer_id, ORDERS_FOLLOWED)
        .await?;
    let stream = CustomerStream {
        queue: orders
            .into_iter()
            .map(|o| (o.order_id, o.status.status))
            .collect(),
        following,
        shutdown: state.shutdown.clone(),
        state,
        _permit: permit,
    };
    Ok(sse(futures::stream::unfold(stream, CustomerStream::next)))
}
