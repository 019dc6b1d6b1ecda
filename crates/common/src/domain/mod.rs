//! The shop's domain, without I/O: the events on each topic, order statuses and the rule
//! between them, the driver's routes and delivery's claims, the topics themselves, and which
//! program reads and writes which.

pub mod events;
pub mod route;
pub mod status;
pub mod topics;
pub mod wiring;
