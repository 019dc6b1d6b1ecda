//! The shop floor (`/shop-floor`): the shop's wiring drawn from its declaration, with what flows
//! along each edge and what waits where, read from the broker while someone watches and pushed
//! to the page as it changes. Counts only: no order, customer or event is shown.

mod model;
mod watch;

pub use model::Floor;
pub use watch::{Following, ShopFloor};

use std::convert::Infallible;
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::sse::Event;
use axum::response::Response;
use tokio_util::sync::CancellationToken;

use crate::error::AppError;
use crate::http::sse::sse;
use crate::http::stream_limits::{StreamLimits, StreamPermit};
use crate::pages::render;
use crate::session::Customer;

/// What the shop floor's handlers need.
#[derive(Debug)]
pub struct FloorState {
    pub floor: ShopFloor,
    /// The caps on open streams, shared with the order pages'.
    pub streams: StreamLimits,
    pub shutdown: CancellationToken,
}

/// The shop floor: its picture is drawn by its script from the pushed figures; the page itself
/// carries the wiring, for a browser without scripts.
#[derive(Debug, Template)]
#[template(path = "shop_floor.html")]
struct ShopFloorPage<'a> {
    username: Option<&'a str>,
    searched: &'a str,
    floor: Floor,
}

pub async fn page(
    State(state): State<Arc<FloorState>>,
    customer: Customer,
) -> Result<Response, AppError> {
    render(ShopFloorPage {
        username: Some(&customer.username),
        searched: "",
        floor: state.floor.now(),
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
