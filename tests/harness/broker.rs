//! A throwaway tansu broker on a free loopback port, with memory storage, killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Broker {
    pub port: u16,
    child: Child,
    /// Holds durable storage for brokers that need it; removed on drop.
    storage: Option<tempfile::TempDir>,
}

/// tansu drops the leading / of an absolute SQLite path, so a durable broker runs from its folder.
const DURABLE: &str = "sqlite://broker.db";

/// `TANSU` names the broker binary; otherwise it is looked up on PATH and in ~/.cargo/bin.
pub fn tansu_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("tansu"))
        .find(|candidate| candidate.is_file());
    on_path.unwrap_or_else(|| {
        let home = std::env::var_os("HOME").unwrap_or_default();
        PathBuf::from(home).join(".cargo/bin/tansu")
    })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

impl Broker {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a broker with extra command-line arguments.
    pub fn start_with(extra: &[&str]) -> Self {
        let port = free_port();
        let child = spawn(port, "memory://tansu/", None, extra);
        Self {
            port,
            child,
            storage: None,
        }
    }

    /// A broker whose topics, offsets and groups live in SQLite, so it can be restarted.
    pub fn start_durable() -> Self {
        let storage = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let child = spawn(port, DURABLE, Some(storage.path()), &[]);
        Self {
            port,
            child,
            storage: Some(storage),
        }
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and starts it again on the same port
    /// and storage after `down` has passed.
    pub fn restart(&mut self, down: Duration) {
        let folder = self
            .storage
            .as_ref()
            .expect("only a durable broker can be restarted")
            .path()
            .to_path_buf();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(down);
        self.child = spawn(self.port, DURABLE, Some(&folder), &[]);
    }

    /// A broker that requires SASL/SCRAM-SHA-512 from every client, with these users. Users are
    /// created through the broker before authentication is switched on, so the storage is durable
    /// (SQLite in a temporary folder) and the broker is started twice on the same port.
    pub fn start_authenticated(users: &[(&str, &str)]) -> Self {
        let storage = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let start = |extra: &[&str]| spawn(port, DURABLE, Some(storage.path()), extra);
        let mut open = start(&[]);
        for (name, password) in users {
            let created = Command::new(tansu_binary())
                .args([
                    "user",
                    "create",
                    name,
                    password,
                    "--broker",
                    &url,
                    "--mechanism",
                    "scram512",
                ])
                .status()
                .expect("tansu user create runs");
            assert!(created.success(), "creating user {name}");
        }
        let _ = open.kill();
        let _ = open.wait();
        let child = start(&["--authentication"]);
        Self {
            port,
            child,
            storage: Some(storage),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn spawn(port: u16, storage: &str, folder: Option<&Path>, extra: &[&str]) -> Child {
    let url = format!("tcp://127.0.0.1:{port}");
    let binary = tansu_binary();
    let mut command = Command::new(&binary);
    command
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", storage])
        .args(extra)
        .stdout(Stdio::null())
        .env("RUST_LOG", "warn")
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open("/tmp/tansu-scratch.log")
                .map(Stdio::from)
                .unwrap_or(Stdio::null()),
        );
    if let Some(folder) = folder {
        command.current_dir(folder);
    }
    let child = command.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot start {} ({e}); install it with ./start_demo.sh --install-broker",
            binary.display()
        )
    });
    wait_for_listener(port);
    child
}

fn wait_for_listener(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "broker did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
