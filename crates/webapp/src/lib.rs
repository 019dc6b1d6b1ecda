//! The web app: log in, order a pizza, follow it live. The Command side of the shop (it writes
//! orders and produces `pizza-ordered`) and a reader of the Query side's view.

pub mod assets;
pub mod deadline;
pub mod error;
mod followers;
pub mod head_limits;
pub mod limits;
pub mod log_feed;
pub mod log_index;
pub mod order_access;
pub mod order_form;
pub mod order_json;
pub mod order_logs;
pub mod pages;
mod placed_status;
pub mod rate_limit;
pub mod routes;
pub mod security;
pub mod serve;
pub mod session;
pub mod session_key;
pub mod shop_floor;
pub mod startup;
pub mod state;
pub mod stream_limits;
pub mod streams;
pub mod view_feed;
pub mod web_metrics;

pub use routes::router;
pub use state::AppState;
