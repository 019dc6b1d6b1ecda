//! The SQLite stores: one file per store, shared by the processes of one host (WAL mode lets the
//! web app read while the status service writes).

mod change_watch;
mod delivery;
mod migrations;
mod orders;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

pub use delivery::SqliteDeliveryStore;
pub use orders::SqliteOrderStore;

/// A call for the store's thread: it runs with the connection and answers its caller itself.
type Call = Box<dyn FnOnce(&mut Connection) + Send>;

/// One connection, owned by one thread that runs the store's calls one after another. SQLite
/// waits on disk and on other processes' locks, which must not stall the tasks that keep
/// consuming and answering; and one long-lived thread that takes call after call from a queue
/// costs far fewer thread switches than a trip to tokio's blocking pool for every call (profiles
/// at peak load showed those switches as the largest cost of delivery and of the web app).
/// SQLite serialises writers anyway, and the statements here are short.
pub(super) struct Db {
    path: String,
    calls: Sender<Call>,
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
        let (calls, queue) = channel();
        std::thread::Builder::new()
            .name("sqlite store".into())
            .spawn(move || serve(conn, queue))
            .map_err(|source| StoreError::Thread {
                path: display.clone(),
                source,
            })?;
        Ok(Arc::new(Self {
            path: display,
            calls,
        }))
    }

    /// Runs `work` with the connection on the store's thread, and names the file in any error.
    async fn call<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let call: Call = Box::new(move |conn| {
            // The caller may have gone (a request given up); the work is done all the same.
            let _ = answer.send(work(conn));
        });
        let stopped = || StoreError::Stopped {
            path: self.path.clone(),
        };
        self.calls.send(call).map_err(|_| stopped())?;
        answered
            .await
            .map_err(|_| stopped())?
            .map_err(|source| StoreError::Sqlite {
                path: self.path.clone(),
                source,
            })
    }
}

/// The store's thread: runs calls until the store is dropped. A call that panics drops its
/// answer, so its caller gets an error, and the thread goes on with the next: SQLite rolls back
/// a transaction left unfinished when its guard is dropped, so the connection stays consistent.
fn serve(mut conn: Connection, queue: Receiver<Call>) {
    while let Ok(call) = queue.recv() {
        let _ = catch_unwind(AssertUnwindSafe(|| call(&mut conn)));
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
