//! One rebuild at a time per store. Two would each build aside and each switch, the second
//! undoing what the first put in place. The lock is one the operating system or the database
//! drops with its holder, so a rebuild killed with `kill -9` never leaves it held: for a SQLite
//! store, an exclusive `flock` on a file beside the database; for PostgreSQL, a session advisory
//! lock on a connection the rebuild keeps open.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use tokio_postgres::{Client, Config, NoTls};

use common::settings::StoreLocation;

use crate::StoreError;

/// Held until dropped.
#[derive(Debug)]
pub struct RebuildLock {
    _files: Vec<File>,
    _sessions: Vec<Client>,
}

/// The lock file of a SQLite store.
fn lock_file(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".rebuild-lock");
    PathBuf::from(name)
}

/// Takes the rebuild lock of each store (once for stores that share a file or a database), or
/// answers [`StoreError::RebuildRunning`] naming the first one another rebuild holds.
pub async fn lock_rebuild(stores: &[&StoreLocation]) -> Result<RebuildLock, StoreError> {
    let mut lock = RebuildLock {
        _files: Vec::new(),
        _sessions: Vec::new(),
    };
    let mut taken: Vec<&StoreLocation> = Vec::new();
    for store in stores {
        if taken.contains(store) {
            continue;
        }
        taken.push(store);
        match store {
            StoreLocation::Sqlite(path) => lock._files.push(lock_sqlite(path)?),
            StoreLocation::Postgres(url) => lock._sessions.push(lock_postgres(url).await?),
        }
    }
    Ok(lock)
}

fn lock_sqlite(database: &Path) -> Result<File, StoreError> {
    let path = lock_file(database);
    crate::sqlite::make_folder_of(&path)?;
    let display = path.display().to_string();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StoreError::LockFile {
            path: display.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::RebuildRunning {
            store: database.display().to_string(),
            holder: format!("it holds {display}"),
        }),
        Err(TryLockError::Error(source)) => Err(StoreError::LockFile {
            path: display,
            source,
        }),
    }
}

async fn lock_postgres(url: &str) -> Result<Client, StoreError> {
    let config = Config::from_str(url).map_err(|source| StoreError::Postgres {
        database: "the [state-store-*] name".into(),
        source,
    })?;
    let database = crate::postgres::described(&config);
    let failed = |source| StoreError::Postgres {
        database: database.clone(),
        source,
    };
    let (client, connection) = config.connect(NoTls).await.map_err(failed)?;
    // The lock lives as long as this session: the connection is served until the client goes.
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT pg_try_advisory_lock(hashtext('pizza_rebuild'))",
            &[],
        )
        .await
        .map_err(failed)?;
    if row.get::<_, bool>(0) {
        Ok(client)
    } else {
        Err(StoreError::RebuildRunning {
            store: database,
            holder: "its session holds the advisory lock hashtext('pizza_rebuild')".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_rebuild_of_a_sqlite_store_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let orders = StoreLocation::Sqlite(dir.path().join("orders.db"));
        let delivery = StoreLocation::Sqlite(dir.path().join("delivery.db"));
        let first = lock_rebuild(&[&orders, &delivery, &orders])
            .await
            .expect("a store named twice is locked once");
        let refused = lock_rebuild(&[&delivery]).await;
        let Err(StoreError::RebuildRunning { store, holder }) = refused else {
            panic!("a second rebuild ran: {refused:?}");
        };
        assert!(store.ends_with("delivery.db"), "{store}");
        assert!(holder.contains("delivery.db.rebuild-lock"), "{holder}");
        drop(first);
        lock_rebuild(&[&delivery])
            .await
            .expect("free once the first is gone");
    }
}
