//! The contract of the state stores: what every backend must do, whatever keeps its rows. Each
//! case runs against SQLite (files in a temporary folder) and a real PostgreSQL server (a
//! throwaway cluster from Debian's package, see the `test_postgres` crate), so the two backends'
//! SQL, written twice, cannot drift apart unseen. One module per port of the stores.

mod backends;
mod change_feed;
mod delivery;
mod fixtures;
mod orders;
mod rebuild;
mod retention;
mod schema;
mod sessions;
mod status_fold;
mod watchdog;
