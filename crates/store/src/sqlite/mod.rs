//! The SQLite stores: one file per store, shared by the processes of one host (WAL mode lets the
//! web app read while the status service writes). Their statements and schema scripts are the
//! files of `sql/` ([`statements`], [`migrations`]).

mod aside;
mod change_watch;
mod db;
mod delivery;
mod migrations;
mod orders;
mod statements;

use std::path::Path;

use rusqlite::Connection;

pub(crate) use aside::{DeliveryAside, OrdersAside};
pub(crate) use delivery::SqliteDeliveryStore;
pub(crate) use orders::SqliteOrderStore;

use db::Db;

use crate::StoreError;

/// Creates the folder a store's file (or its rebuild lock) goes in, when the path names one.
pub(crate) fn make_folder_of(path: &Path) -> Result<(), StoreError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(folder) => std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
            path: path.display().to_string(),
            source,
        }),
        None => Ok(()),
    }
}

/// `execute` and `query_row` through the connection's statement cache. The hot paths run the
/// same few statements thousands of times a second; parsing each one again every time showed up
/// in profiles of the status service.
trait CachedStatements {
    fn run<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;

    fn row<T, P, F>(&self, sql: &str, params: P, read: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl CachedStatements for Connection {
    fn run<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P, F>(&self, sql: &str, params: P, read: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, read)
    }
}
