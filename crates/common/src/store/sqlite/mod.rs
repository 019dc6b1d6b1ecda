//! The SQLite stores: one file per store, shared by the processes of one host (WAL mode lets the
//! web app read while the status service writes).

mod change_watch;
mod delivery;
mod migrations;
mod orders;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

pub use delivery::SqliteDeliveryStore;
pub use orders::SqliteOrderStore;

/// One connection behind a lock: SQLite serialises writers anyway, and the statements here are
/// short.
pub(super) struct Db {
    path: String,
    conn: Mutex<Connection>,
}

impl Db {
    fn open(path: &Path) -> Result<Arc<Self>, StoreError> {
        let display = path.display().to_string();
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
                path: display.clone(),
                source,
            })?;
        }
        let error = |source| StoreError::Sqlite {
            path: display.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(error)?;
        // WAL lets the web app read while the status service writes; the busy timeout absorbs
        // the moments both want to write instead of failing with SQLITE_BUSY.
        conn.busy_timeout(Duration::from_secs(10))
            .and_then(|()| conn.pragma_update(None, "journal_mode", "WAL"))
            .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
            .map_err(error)?;
        Ok(Arc::new(Self {
            path: display,
            conn: Mutex::new(conn),
        }))
    }

    /// Runs `work` with the connection on tokio's blocking pool (SQLite waits on disk and on
    /// locks, which must not stall the tasks that keep consuming and answering), and names the
    /// file in any error.
    async fn call<T, F>(self: &Arc<Self>, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            work(&mut db.lock()).map_err(|source| StoreError::Sqlite {
                path: db.path.clone(),
                source,
            })
        })
        .await?
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (the transaction is
        // rolled back when dropped), so a poisoned lock is safe to keep using.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
