//! The web app: log in, order a pizza, follow it live. The Command side of the shop (it writes
//! orders and produces `pizza-ordered`) and a reader of the Query side's view.
//!
//! A module per concern; each imports only those listed before it:
//! - [`error`]: one error type for every handler, mapped to its status and page in one place;
//!   [`pages`]: rendering the templates, and the error page.
//! - [`http`]: serving and every limit on what a client may ask (connections, deadlines, sizes,
//!   each customer's share, open streams), security headers, static files, request metrics.
//! - [`session`]: who is ordering (the cookie, its key, logging in and out).
//! - [`orders`]: the Command side: the menu and its form, placing an order, the order pages.
//! - [`live`]: following orders live: the view's changes and the services' log entries pushed
//!   to the pages as server-sent events.
//! - [`lineage`]: one order's way through the topics, read from the topics themselves.
//! - [`shop_floor`]: the shop's wiring as a graph with what flows and what waits, read from the
//!   broker while someone watches, and a drill-down to each topic and program.
//! - [`state`]: each concern's part of the shared state; [`routes`]: every path and layer;
//!   [`app`]: building it all from configuration (the binary's `main` is one call to it).

pub mod app;
pub mod error;
pub mod http;
pub mod lineage;
pub mod live;
pub mod orders;
pub mod pages;
pub mod routes;
pub mod session;
pub mod shop_floor;
pub mod state;

pub use routes::router;
pub use state::AppState;
