//! What a running program needs: its start and end ([`app`]), a kitchen service's declaration
//! and run ([`service`]) with what it holds while running ([`context`]), logging, the shutdown
//! signal, periodic chores, and the backoff between failed attempts.

pub mod app;
pub mod backoff;
pub mod context;
pub mod logging;
pub mod periodic;
pub mod service;
pub mod shutdown;
