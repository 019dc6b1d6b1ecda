//! Serving and every limit on what a client may ask: the listener and its connection cap
//! ([`serve`], [`connections`]), the deadlines for a request's head and body ([`deadline`]), the
//! sizes of heads and bodies ([`head_limits`]), each customer's share ([`rate_limit`]) and open
//! streams ([`stream_limits`]), the headers every answer carries ([`security`]), the static files
//! ([`assets`]) and what the web app tells Prometheus ([`metrics`]). Nothing here knows what a
//! pizza is.

pub mod assets;
pub mod connections;
pub mod deadline;
pub mod form_field;
pub mod head_limits;
pub mod metrics;
pub mod rate_limit;
pub mod security;
pub mod serve;
pub mod sse;
pub mod stream_limits;
