//! A throwaway PostgreSQL server from Debian's `postgresql` package: its own cluster in a
//! temporary folder, on a free loopback port, stopped on drop. PostgreSQL refuses to run as
//! root, so when the tests do, the cluster belongs to the `postgres` user and its commands run
//! through `runuser`.
//!
//! A crate of its own, so the store's contract suite (`crates/store/tests/contract/`) runs a
//! server without the end-to-end harness, which re-exports it as `pizza_tests::postgres`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tempfile::TempDir;

#[derive(Debug)]
pub struct Postgres {
    pub port: u16,
    child: Option<Child>,
    folder: TempDir,
    bin: PathBuf,
}

/// `PG_BIN` names the folder of the server's binaries; otherwise the newest under
/// /usr/lib/postgresql.
fn bin_folder() -> PathBuf {
    if let Some(folder) = std::env::var_os("PG_BIN") {
        return folder.into();
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().unwrap_or_else(|| {
        panic!("no PostgreSQL under /usr/lib/postgresql: apt-get install postgresql (tests/run.sh does)")
    })
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command of the server's, run as `postgres` when the tests run as root.
fn command(bin: &Path, program: &str) -> Command {
    if as_root() {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(bin.join(program));
        command
    } else {
        Command::new(bin.join(program))
    }
}

impl Postgres {
    pub fn start() -> Self {
        let folder = tempfile::Builder::new()
            .prefix("postgres-")
            .tempdir()
            .expect("postgres folder");
        if as_root() {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(folder.path())
                .status()
                .expect("chown runs");
            assert!(owned.success(), "chown the cluster's folder to postgres");
        }
        let bin = bin_folder();
        let data = folder.path().join("data");
        let made = command(&bin, "initdb")
            .args([
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--encoding=UTF8",
            ])
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .output()
            .expect("initdb runs");
        assert!(
            made.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let mut server = Self {
            port: unused_port(),
            child: None,
            folder,
            bin,
        };
        // Another process may take the port between our look and the server's bind.
        for _ in 0..5 {
            match server.start_on_port() {
                Ok(()) => return server,
                Err(exited) => {
                    eprintln!("{exited}; trying another port");
                    server.port = unused_port();
                }
            }
        }
        panic!("postgres did not start on any port: {}", server.log());
    }

    /// Starts the stopped server again, on the same port and data.
    pub fn resume(&mut self) {
        if let Err(exited) = self.start_on_port() {
            panic!("{exited}: {}", self.log());
        }
    }

    /// Starts the server on `self.port`; `Err` when it exited instead (the port was taken).
    fn start_on_port(&mut self) -> Result<(), String> {
        let data = self.folder.path().join("data");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.folder.path().join("postgres.log"))
            .expect("postgres log");
        let child = command(&self.bin, "postgres")
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .args([
                "-c",
                &format!("unix_socket_directories={}", self.folder.path().display()),
            ])
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Err(format!(
                    "postgres on port {} exited with {status}",
                    self.port
                ));
            }
            // Answering and still ours: a server that lost the port to another exits.
            let ready = TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.psql("postgres", "SELECT 1").is_ok()
                && matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)));
            if ready {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server, as an outage would (a fast shutdown: connections are cut).
    pub fn stop(&mut self) {
        self.signal_postmaster("INT");
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// The server's own process (its parent may be `runuser`).
    pub fn server_pid(&self) -> Option<u32> {
        let pid_file = self.folder.path().join("data/postmaster.pid");
        std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse().ok())
    }

    /// Signals the server itself: its parent may be `runuser`, which does not pass signals on.
    fn signal_postmaster(&self, signal: &str) {
        if let Some(pid) = self.server_pid() {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .status();
        }
    }

    fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", database, "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// A new, empty database; its URL.
    pub fn database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("postgres.log")).unwrap_or_default()
    }

    /// One server shared by the tests of this process that run at the same time; it stops once
    /// the last of them lets go of it.
    pub fn shared() -> Arc<Postgres> {
        static SHARED: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(Postgres::start());
        *shared = Arc::downgrade(&server);
        server
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // An immediate shutdown: the cluster is thrown away with its folder.
        self.signal_postmaster("QUIT");
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

/// A loopback port nobody listens on now (another process may still take it before the server
/// binds it, which [`Postgres::start`] survives).
fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// A database name no other test of this run uses.
pub fn fresh_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}
