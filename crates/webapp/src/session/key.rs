//! The key of the session cookies. Every web app instance of one shop must have the same key, so
//! a customer signed in on one is signed in on all (a load balancer may send them anywhere): it
//! comes from `PIZZA_SESSION_KEY` (128 hexadecimal digits, e.g. `openssl rand -hex 64`) when that
//! is set, and otherwise from `[webapp] session_key_file`, which is made on first start, readable
//! by its owner only.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use axum_extra::extract::cookie::Key;

pub const SESSION_KEY_ENV: &str = "PIZZA_SESSION_KEY";
/// What a key must hold at least (the cookie crate signs and encrypts with it).
const KEY_BYTES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{SESSION_KEY_ENV} must be at least {} hexadecimal digits", KEY_BYTES * 2)]
    Environment,
    #[error("session key {}: holds fewer than {KEY_BYTES} bytes; delete it to have a new key made", .0.display())]
    Short(PathBuf),
    #[error("session key {}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The key from the environment, or from (or made in) `file`.
pub fn session_key(file: &Path) -> Result<Key, KeyError> {
    match std::env::var(SESSION_KEY_ENV) {
        Ok(hex) => from_hex(&hex)
            .filter(|bytes| bytes.len() >= KEY_BYTES)
            .map(|bytes| Key::from(&bytes))
            .ok_or(KeyError::Environment),
        Err(_) => load_or_create(file),
    }
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u32> = text
        .trim()
        .chars()
        .map(|c| c.to_digit(16))
        .collect::<Option<_>>()?;
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::try_from(pair[0] * 16 + pair[1]).ok())
        .collect()
}

fn load_or_create(path: &Path) -> Result<Key, KeyError> {
    let failed = |source| KeyError::File {
        path: path.to_path_buf(),
        source,
    };
    if let Some(key) = read(path)? {
        return Ok(key);
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(failed)?;
    // Instances of one host may share the folder and start together. The key is written whole
    // under a name of this process's own, then linked to its place: a link never replaces a file,
    // so the first to link wins, and every other instance reads that key, never a half-written one.
    let key = Key::generate();
    let draft = tempfile::Builder::new()
        .prefix(".session.key.")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(folder)
        .map_err(failed)?;
    let mut file = draft.as_file();
    file.write_all(key.master()).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    match std::fs::hard_link(draft.path(), path) {
        Ok(()) => Ok(key),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            read(path)?.ok_or_else(|| failed(error))
        }
        Err(error) => Err(failed(error)),
    }
}

/// The key in `path`, or `None` when there is no such file yet.
fn read(path: &Path) -> Result<Option<Key>, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= KEY_BYTES => Ok(Some(Key::from(&bytes))),
        Ok(_) => Err(KeyError::Short(path.to_path_buf())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::File {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys/session.key");
        let first = load_or_create(&path).expect("created");
        let again = load_or_create(&path).expect("read back");
        assert_eq!(first.master(), again.master());
        let mode = std::fs::metadata(&path).expect("exists").mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn instances_starting_together_all_get_the_one_key_made() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("data/session.key");
            let start = std::sync::Barrier::new(8);
            let keys: Vec<Vec<u8>> = std::thread::scope(|scope| {
                let racers: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            load_or_create(&path).map(|key| key.master().to_vec())
                        })
                    })
                    .collect();
                racers
                    .into_iter()
                    .map(|racer| racer.join().expect("no panic").expect("a key"))
                    .collect()
            });
            let on_disk = std::fs::read(&path).expect("the key file");
            assert!(keys.iter().all(|key| *key == on_disk[..key.len()]));
            let files = std::fs::read_dir(path.parent().expect("folder")).expect("listed");
            assert_eq!(files.count(), 1, "no draft left behind");
        }
    }

    #[test]
    fn hex_keys_are_read_and_bad_ones_refused() {
        assert_eq!(from_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }
}
