//! What any running program needs: its start and end ([`app`]), logging, the shutdown signal,
//! periodic chores, and the backoff between failed attempts. A kitchen service's own life is
//! [`crate::service`]'s.

pub mod app;
pub mod backoff;
pub mod logging;
pub mod periodic;
pub mod shutdown;
