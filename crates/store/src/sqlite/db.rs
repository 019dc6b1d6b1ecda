//! A store's connection, owned by one thread that takes the store's calls from a queue and
//! commits the writes waiting together.
//!
//! SQLite waits on disk and on other processes' locks, which must not stall the tasks that keep
//! consuming and answering, so the connection lives on a thread of its own. One long-lived thread
//! costs far fewer thread switches than a trip to tokio's blocking pool for every call (profiles
//! at peak load showed those switches as the largest cost of delivery and of the web app), and
//! since it sees every write waiting, it can commit them together: one transaction, one write to
//! the WAL, for all the orders placed in the same moment.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{ffi, Connection, ErrorCode, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::StoreError;

/// Writes committed together at most, which bounds how long the first of them waits.
const MOST_WRITES_PER_COMMIT: usize = 256;

/// How long a statement waits for another process's lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Switches the file to WAL, which it then stays in for every process. Switching takes an
/// exclusive lock on top of a shared one, so two processes doing it to a new file at once
/// deadlock, and SQLite answers one of them SQLITE_BUSY at once instead of waiting: that one
/// tries again, and finds the file switched.
fn use_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            done => return done,
        }
    }
}

/// Work for the store's thread; each call answers its own caller.
enum Call {
    /// Has the connection to itself: reads, and writes that run their own transaction.
    Alone(Box<dyn FnOnce(&mut Connection) + Send>),
    /// Shares one transaction with the writes queued behind it (see [`Db::write`]).
    Write(Write),
}

/// Runs in a savepoint of the shared transaction, or hears that the transaction could not begin
/// (and then answers at once). Returns whether it succeeded, and what answers its caller once
/// the commit's outcome is known.
type Write =
    Box<dyn FnOnce(Result<&Connection, &rusqlite::Error>) -> Option<(bool, Answer)> + Send>;
type Answer = Box<dyn FnOnce(Result<(), &rusqlite::Error>) + Send>;

pub(super) struct Db {
    path: String,
    calls: Sender<Call>,
}

impl Db {
    pub(super) fn open(path: &Path) -> Result<Arc<Self>, StoreError> {
        super::make_folder_of(path)?;
        let display = path.display().to_string();
        let error = |source| StoreError::Sqlite {
            path: display.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(error)?;
        // WAL lets the web app read while the status service writes; the busy timeout absorbs
        // the moments both want to write instead of failing with SQLITE_BUSY.
        conn.busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| use_wal(&conn))
            .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
            .map_err(error)?;
        let (calls, queue) = channel();
        std::thread::Builder::new()
            .name("sqlite store".into())
            .spawn(move || serve(conn, &queue))
            .map_err(|source| StoreError::Thread {
                path: display.clone(),
                source,
            })?;
        Ok(Arc::new(Self {
            path: display,
            calls,
        }))
    }

    /// Runs `work` with the connection to itself, and names the file in any error.
    pub(super) async fn call<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.send(Call::Alone(Box::new(move |conn| {
            // The caller may have gone (a request given up); the work is done all the same.
            let _ = answer.send(work(conn));
        })))?;
        self.answer(answered).await
    }

    /// Runs `work` inside one transaction with the other writes waiting at that moment (group
    /// commit). `work` has a savepoint of its own, so its failure undoes its own statements
    /// only; it is answered once the transaction is committed, and a failed commit fails every
    /// write in it. Nothing is answered as written before it is.
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let write: Write = Box::new(move |transaction| {
            let done = match transaction {
                Ok(conn) => work(conn),
                Err(error) => {
                    let _ = answer.send(Err(copy(error)));
                    return None;
                }
            };
            let succeeded = done.is_ok();
            let answer: Answer = Box::new(move |committed| {
                let _ = answer.send(match committed {
                    Err(error) if succeeded => Err(copy(error)),
                    _ => done,
                });
            });
            Some((succeeded, answer))
        });
        self.send(Call::Write(write))?;
        self.answer(answered).await
    }

    fn send(&self, call: Call) -> Result<(), StoreError> {
        self.calls.send(call).map_err(|_| self.unanswered())
    }

    async fn answer<T>(
        &self,
        answered: oneshot::Receiver<rusqlite::Result<T>>,
    ) -> Result<T, StoreError> {
        answered
            .await
            .map_err(|_| self.unanswered())?
            .map_err(|source| StoreError::Sqlite {
                path: self.path.clone(),
                source,
            })
    }

    fn unanswered(&self) -> StoreError {
        StoreError::Unanswered {
            path: self.path.clone(),
        }
    }
}

/// The store's thread: serves calls until the store is dropped. A call that panics drops its
/// answer, so its caller gets an error, and the thread goes on with the next: SQLite rolls back
/// what a dropped transaction or savepoint left unfinished, so the connection stays consistent.
fn serve(mut conn: Connection, queue: &Receiver<Call>) {
    let mut next = queue.recv().ok();
    while let Some(call) = next {
        let taken = match call {
            Call::Alone(work) => {
                let _ = catch_unwind(AssertUnwindSafe(|| work(&mut conn)));
                None
            }
            Call::Write(first) => commit_together(&mut conn, first, queue),
        };
        next = taken.or_else(|| queue.recv().ok());
    }
}

/// Runs `first` and the writes queued behind it in one transaction, commits, then answers them.
/// Returns a call it took from the queue that was not a write, to be served next.
fn commit_together(conn: &mut Connection, first: Write, queue: &Receiver<Call>) -> Option<Call> {
    // IMMEDIATE takes the write lock at once, so the busy timeout covers waiting for it.
    let mut transaction = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(transaction) => transaction,
        Err(error) => {
            refuse(first, &error);
            return None;
        }
    };
    let mut answers = vec![];
    run_in_savepoint(&mut transaction, first, &mut answers);
    let taken = loop {
        if answers.len() >= MOST_WRITES_PER_COMMIT {
            break None;
        }
        match queue.try_recv() {
            Ok(Call::Write(write)) => run_in_savepoint(&mut transaction, write, &mut answers),
            Ok(other) => break Some(other),
            Err(_) => break None,
        }
    };
    let committed = transaction.commit();
    for answer in answers {
        answer(committed.as_ref().map(|_| ()));
    }
    taken
}

fn run_in_savepoint(transaction: &mut Transaction<'_>, write: Write, answers: &mut Vec<Answer>) {
    // Some failures (a full disk, an I/O error) make SQLite roll the whole transaction back. A
    // savepoint then would start and commit a transaction of its own, outside this batch, and
    // its caller would hear of the batch's failed commit: a write done but answered as failed.
    if transaction.is_autocommit() {
        return refuse(write, &rolled_back());
    }
    let savepoint = match transaction.savepoint() {
        Ok(savepoint) => savepoint,
        Err(error) => return refuse(write, &error),
    };
    let ran = catch_unwind(AssertUnwindSafe(|| write(Ok(&*savepoint))));
    match ran {
        Ok(Some((true, answer))) => match savepoint.commit() {
            Ok(()) => answers.push(answer),
            Err(error) => answer(Err(&error)),
        },
        // Dropping the savepoint rolls its statements back; the answer carries the failure.
        Ok(Some((false, answer))) => {
            drop(savepoint);
            answer(Ok(()));
        }
        Ok(None) | Err(_) => {}
    }
}

/// Answers a write that cannot run with the reason.
fn refuse(write: Write, error: &rusqlite::Error) {
    let _ = catch_unwind(AssertUnwindSafe(|| write(Err(error))));
}

fn rolled_back() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        ffi::Error::new(ffi::SQLITE_ABORT),
        Some("the transaction this write was to join was rolled back".into()),
    )
}

/// A commit's error, once for each write it failed (rusqlite's errors cannot be cloned).
fn copy(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    /// A store whose thread is held up until the returned sender is dropped, so the writes
    /// issued meanwhile queue up and are committed together. It returns once the thread is
    /// held, so nothing sent after it can go first.
    async fn held_store(
        dir: &tempfile::TempDir,
        schema: &'static str,
    ) -> (Arc<Db>, std::sync::mpsc::Sender<()>) {
        let db = Db::open(&dir.path().join("t.db")).expect("open");
        db.call(move |conn| conn.execute_batch(schema))
            .await
            .expect("schema");
        let (release, held) = channel::<()>();
        let (holding, is_holding) = oneshot::channel();
        let holder = db.clone();
        tokio::spawn(async move {
            holder
                .call(move |_| {
                    let _ = holding.send(());
                    let _ = held.recv();
                    Ok(())
                })
                .await
        });
        is_holding.await.expect("the store's thread is held");
        (db, release)
    }

    /// Takes `write` as far as its wait for the answer, by which point its call is on the store's
    /// queue (a write is sent before it first waits): writes started one after the other while
    /// the thread is held are queued in that order, all of them before it is released, whatever
    /// the machine's speed.
    async fn queued<F: Future + Unpin>(mut write: F) -> F {
        assert!(
            futures::poll!(&mut write).is_pending(),
            "a write was answered while the store's thread was held"
        );
        write
    }

    async fn rows(db: &Db) -> Vec<i64> {
        db.call(|conn| {
            let mut statement = conn.prepare("SELECT n FROM t ORDER BY n")?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect()
        })
        .await
        .expect("rows")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_undoes_only_itself() {
        let dir = tempfile::tempdir().expect("dir");
        let (db, release) = held_store(&dir, "CREATE TABLE t (n INTEGER PRIMARY KEY)").await;
        let mut writes = vec![];
        for n in 1..=20_i64 {
            let write = db.write(move |conn| {
                conn.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                if n % 5 == 0 {
                    // Its own row is written, then the write fails after all, between writes
                    // that succeed in the same transaction.
                    conn.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                }
                Ok(n)
            });
            writes.push(queued(Box::pin(write)).await);
        }
        drop(release);
        for (n, write) in (1..=20_i64).zip(writes) {
            let answer = write.await;
            assert_eq!(answer.is_ok(), n % 5 != 0, "write {n}: {answer:?}");
        }
        let expected: Vec<i64> = (1..=20).filter(|n| n % 5 != 0).collect();
        assert_eq!(rows(&db).await, expected);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_fails_every_write_in_it() {
        let dir = tempfile::tempdir().expect("dir");
        // Deferred foreign keys are checked at the commit, so one bad write fails it for all.
        let (db, release) = held_store(
            &dir,
            "PRAGMA foreign_keys = ON; CREATE TABLE t (n INTEGER PRIMARY KEY); \
             CREATE TABLE c (p INTEGER REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED)",
        )
        .await;
        let good = db.write(|conn| conn.execute("INSERT INTO t (n) VALUES (1)", []));
        let good = queued(Box::pin(good)).await;
        let bad = db.write(|conn| conn.execute("INSERT INTO c (p) VALUES (99)", []));
        let bad = queued(Box::pin(bad)).await;
        drop(release);
        assert!(good.await.is_err());
        assert!(bad.await.is_err());
        assert!(rows(&db).await.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_write_commits_on_its_own_after_the_batch_was_rolled_back() {
        let dir = tempfile::tempdir().expect("dir");
        let (db, release) = held_store(&dir, "CREATE TABLE t (n INTEGER PRIMARY KEY)").await;
        // The second write stands for a failure after which SQLite rolls the transaction back;
        // the third comes after it in the same batch.
        let mut writes = vec![];
        for n in 1..=3_i64 {
            let write = db.write(move |conn| {
                if n == 2 {
                    conn.execute_batch("ROLLBACK")
                } else {
                    conn.execute("INSERT INTO t (n) VALUES (?1)", [n]).map(drop)
                }
            });
            writes.push(queued(Box::pin(write)).await);
        }
        drop(release);
        for (n, write) in (1..=3).zip(writes) {
            assert!(write.await.is_err(), "write {n} answered as done");
        }
        assert!(rows(&db).await.is_empty());
    }

    #[tokio::test]
    async fn a_panicking_call_is_answered_with_an_error_and_the_store_goes_on() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(&dir.path().join("t.db")).expect("open");
        let panicked = db
            .write(|_| -> rusqlite::Result<()> { panic!("a bug in a write") })
            .await;
        assert!(matches!(panicked, Err(StoreError::Unanswered { .. })));
        let answer = db.call(|conn| conn.query_row("SELECT 7", [], |row| row.get::<_, i64>(0)));
        assert_eq!(answer.await.expect("after the panic"), 7);
    }

    /// Processes of one host open a new store file together (two instances starting at once):
    /// each must get it, none may fail because another was switching the file to WAL.
    #[test]
    fn instances_opening_a_new_file_at_once_all_open_it() {
        for round in 0..30 {
            let dir = tempfile::tempdir().expect("dir");
            let path = dir.path().join("store.db");
            let start = Arc::new(std::sync::Barrier::new(4));
            let opening: Vec<_> = (0..4)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        Db::open(&path).map(|_| ())
                    })
                })
                .collect();
            for opened in opening {
                let opened = opened.join().expect("thread");
                assert!(opened.is_ok(), "round {round}: {opened:?}");
            }
        }
    }
}
