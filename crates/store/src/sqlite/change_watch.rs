//! How the SQLite orders store tells the web apps on its host that the view changed: every commit
//! writes the database file or its write-ahead log, so a file-system watch on them (inotify on
//! Linux) fires after each commit of any process. A wake-up may come for a commit that changed
//! nothing the web app cares about; it then finds no new change rows.
//!
//! The watch is on the two files themselves where the log exists (it does once the store has
//! migrated its schema), not on their folder: the folder also holds the delivery store, whose
//! writes under load outnumber the view's, and each would cost the watcher's thread an event.

use std::path::Path;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::watch;

use crate::StoreError;

pub(super) fn watch(database: &Path) -> Result<watch::Receiver<u64>, StoreError> {
    let failed = |source| StoreError::Watch {
        path: database.display().to_string(),
        source,
    };
    let folder = database
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = database
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let log = folder.join(format!("{name}-wal"));
    let (wake, woken) = watch::channel(0u64);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let ours = event.paths.iter().any(|path| {
            path.file_name()
                .is_some_and(|file| file.to_string_lossy().starts_with(name.as_str()))
        });
        if ours && matches!(event.kind, EventKind::Modify(_) | EventKind::Create(_)) {
            wake.send_modify(|count| *count += 1);
        }
    })
    .map_err(failed)?;
    if log.exists() {
        for file in [database, log.as_path()] {
            watcher
                .watch(file, RecursiveMode::NonRecursive)
                .map_err(failed)?;
        }
    } else {
        watcher
            .watch(&folder, RecursiveMode::NonRecursive)
            .map_err(failed)?;
    }
    // The web app watches once, for as long as it runs: the task keeps the watcher.
    let mut listening = woken.clone();
    tokio::spawn(async move {
        let _watcher = watcher;
        while listening.changed().await.is_ok() {}
    });
    Ok(woken)
}
