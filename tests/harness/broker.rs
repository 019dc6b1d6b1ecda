//! A throwaway broker (nisshi, as `./start_demo.sh` runs it) on a free loopback port, killed on
//! drop. Its log (and, for a durable broker, its storage) is in its own folder, kept when the test
//! fails.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::certificates::Certificates;
use crate::gate::{self, Load};

pub struct Broker {
    pub port: u16,
    child: Child,
    folder: TempDir,
    storage: &'static str,
    /// Whether it enforces contracts: the schemas are then in its folder's `schemas/`.
    enforced: bool,
    extra: Vec<String>,
    /// A broker means a test with services on it: see [`gate`].
    _load: Load,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("port", &self.port)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

/// The broker drops the leading / of an absolute SQLite path, so a durable broker runs from its
/// folder.
const DURABLE: &str = "sqlite://broker.db";
const MEMORY: &str = "memory://nisshi/";

/// The options `./start_demo.sh` gives its broker besides the listener and the storage: a new
/// group's first rebalance waits for no more members (the broker's default is Kafka's 3 s), so
/// a service is working within a moment of its start.
pub const DEMO_OPTIONS: [&str; 2] = ["--group-initial-rebalance-delay", "0s"];

/// `NISSHI` names the broker binary; otherwise it is the one `./start_demo.sh --install-broker`
/// builds (nisshi with the shop's patch, docs/broker.md).
pub fn broker_binary() -> PathBuf {
    match std::env::var_os("NISSHI") {
        Some(path) => path.into(),
        None => crate::binaries::workspace_root().join("broker/bin/nisshi"),
    }
}

/// A loopback port nothing listens on right now. Another process may take it before we bind
/// it; the broker start below notices that and tries another.
pub fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// The repository's contracts, as `./start_demo.sh` gives them to its broker.
pub fn shop_schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// What a broker enforces: the shop's contracts unless a test says otherwise.
#[derive(Debug, Clone, Copy)]
enum Contracts<'a> {
    /// The topics' schemas in this folder (`<topic>.json`).
    From(&'a Path),
    /// Nothing: a cluster that takes any bytes (Confluent Cloud without its wire format).
    None,
}

impl Broker {
    /// A broker that enforces the shop's contracts, as `./start_demo.sh` starts it.
    pub fn start() -> Self {
        Self::launch(MEMORY, Contracts::From(&shop_schemas()))
    }

    /// A broker that takes any value on any topic, as a cluster that checks no contract.
    pub fn start_without_contracts() -> Self {
        Self::launch(MEMORY, Contracts::None)
    }

    /// A broker that enforces the schemas in `folder` instead of the shop's.
    pub fn start_with_contracts(folder: &Path) -> Self {
        Self::launch(MEMORY, Contracts::From(folder))
    }

    /// A broker whose topics, offsets and groups live in SQLite, so it can be restarted.
    pub fn start_durable() -> Self {
        Self::launch(DURABLE, Contracts::From(&shop_schemas()))
    }

    fn launch(storage: &'static str, contracts: Contracts<'_>) -> Self {
        let load = gate::load();
        let folder = tempfile::Builder::new()
            .prefix("broker-")
            .tempdir()
            .expect("broker folder");
        let enforced = match contracts {
            Contracts::From(schemas) => {
                copy_schemas(schemas, &folder.path().join(SCHEMAS));
                true
            }
            Contracts::None => false,
        };
        let (port, child) = spawn_on_some_port(folder.path(), storage, enforced, &[]);
        Self {
            port,
            child,
            folder,
            storage,
            enforced,
            extra: Vec::new(),
            _load: load,
        }
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and starts it again on the same port
    /// and storage after `down` has passed.
    pub fn restart(&mut self, down: Duration) {
        self.stop();
        std::thread::sleep(down);
        self.start_again();
    }

    /// Starts a stopped broker again on its port, with the storage it had.
    pub fn start_again(&mut self) {
        assert_eq!(
            self.storage, DURABLE,
            "only a durable broker can be restarted"
        );
        self.child = spawn(
            self.folder.path(),
            self.port,
            self.storage,
            self.enforced,
            &self.extra,
        )
        .expect("the broker starts again on its port");
    }

    /// Gives `topics` `count` partitions each, as `kafka-topics --alter --partitions` would. The
    /// local broker does not answer CreatePartitions, so this is done in its storage while it is
    /// stopped (the rows its own topic creation writes: the count, a row per partition and its
    /// watermarks), and it starts again on the same port; clients see the new count through
    /// their metadata, as they would on a live Kafka cluster.
    pub fn add_partitions(&mut self, topics: &[&str], count: i32) {
        self.alter_storage(|db| {
            for topic in topics {
                let (id, had): (i64, i32) = db
                    .query_row(
                        "SELECT id, partitions FROM topic WHERE name = ?1",
                        [topic],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .unwrap_or_else(|e| panic!("topic {topic} in the broker's storage: {e}"));
                assert!(count > had, "{topic} has {had} partitions already");
                db.execute(
                    "UPDATE topic SET partitions = ?1 WHERE id = ?2",
                    rusqlite::params![count, id],
                )
                .expect("partition count");
                for partition in had..count {
                    db.execute(
                        "INSERT INTO topition (topic, partition) VALUES (?1, ?2)",
                        rusqlite::params![id, partition],
                    )
                    .expect("partition row");
                    db.execute(
                        "INSERT INTO watermark (topition) SELECT id FROM topition \
                         WHERE topic = ?1 AND partition = ?2",
                        rusqlite::params![id, partition],
                    )
                    .expect("watermark row");
                }
            }
        });
    }

    /// Makes the broker forget how far each idempotent producer has written (every producer's
    /// sequence back to 0, in its storage while it is stopped), and starts it again on the same
    /// port. Each producer's next batch is then ahead of what the broker expects: it answers
    /// OutOfOrderSequenceNumber, which librdkafka's idempotent producer treats as fatal, as it
    /// would after a Kafka cluster lost acknowledged writes.
    pub fn forget_producer_sequences(&mut self) {
        self.alter_storage(|db| {
            let rewound = db
                .execute("UPDATE producer_detail SET sequence = 0", [])
                .expect("producer sequences");
            assert!(rewound > 0, "no producer had written anything");
        });
    }

    /// Stops the broker, edits its storage with `edit`, and starts it again on the same port.
    fn alter_storage(&mut self, edit: impl FnOnce(&rusqlite::Connection)) {
        assert_eq!(
            self.storage, DURABLE,
            "only a durable broker's storage can be altered"
        );
        self.stop();
        let db = rusqlite::Connection::open(self.folder.path().join("broker.db"))
            .expect("the broker's storage");
        edit(&db);
        drop(db);
        self.start_again();
    }

    /// Stops the broker and leaves it stopped (SIGTERM, then SIGKILL after 5 s).
    pub fn stop(&mut self) {
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
    }

    /// A broker that requires SASL/SCRAM-SHA-512 from every client, with these users, over TLS
    /// from the broker itself, as Confluent Cloud is reached (`SASL_SSL`). Returns the broker and
    /// the certificate authority clients must trust (`ssl.ca.location`).
    ///
    /// `nisshi user create` speaks plaintext without credentials, so the users are created on a
    /// plain broker whose storage is durable (SQLite in its folder), which is then started again
    /// on the same port with authentication and TLS switched on.
    pub fn start_secured(users: &[(&str, &str)]) -> (Self, PathBuf) {
        let mut broker = Self::start_durable();
        let url = format!("tcp://127.0.0.1:{}", broker.port);
        for (name, password) in users {
            let created = Command::new(broker_binary())
                .args(["user", "create", name, password, "--broker", &url])
                .args(["--mechanism", "scram512"])
                .status()
                .expect("nisshi user create runs");
            assert!(created.success(), "creating user {name}");
        }
        let certificates = Certificates::make(&broker.folder.path().join("tls"));
        broker.extra = vec![
            "--authentication".to_owned(),
            "--cert".to_owned(),
            certificates.cert.display().to_string(),
            "--key".to_owned(),
            certificates.key.display().to_string(),
        ];
        broker.restart(Duration::ZERO);
        (broker, certificates.ca)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A Kafka configuration for this broker, as `config_kafka/localhost.ini` has it. The broker
    /// answers a consumer's fetch as soon as an event lands, so the wait only says how often an
    /// idle consumer asks: the shipped 250 ms. `[kafka]` comes last: lines appended to it are
    /// Kafka properties.
    pub fn kafka_ini(&self) -> String {
        format!(
            "[kafka]\nbootstrap.servers = {}\nfetch.wait.max.ms = 250\n",
            self.bootstrap()
        )
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("broker.log")).unwrap_or_default()
    }
}

/// Where in its folder a broker that enforces contracts finds them.
const SCHEMAS: &str = "schemas";

/// Copies the topics' schemas (`*.json` at the top of `from`) as the broker reads them.
fn copy_schemas(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("schemas folder");
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries {
        let path = entry.expect("schema entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_name().expect("a file name");
            std::fs::copy(&path, to.join(name)).expect("schema copied");
        }
    }
}

/// Starts the broker on a port found free, and on another if that one was taken meanwhile.
fn spawn_on_some_port(
    folder: &Path,
    storage: &str,
    enforced: bool,
    extra: &[String],
) -> (u16, Child) {
    let mut last = String::new();
    for _ in 0..5 {
        let port = unused_port();
        match spawn(folder, port, storage, enforced, extra) {
            Ok(child) => return (port, child),
            Err(problem) => last = problem,
        }
    }
    panic!("the broker would not start: {last}");
}

fn spawn(
    folder: &Path,
    port: u16,
    storage: &str,
    enforced: bool,
    extra: &[String],
) -> Result<Child, String> {
    let url = format!("tcp://127.0.0.1:{port}");
    let binary = broker_binary();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(folder.join("broker.log"))
        .map_err(|e| format!("broker log: {e}"))?;
    let mut child = Command::new(&binary)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", storage])
        .args(DEMO_OPTIONS)
        // A file:// path loses its leading `/`: relative to the broker's folder, its own copy.
        .args(
            enforced
                .then_some(["--schema-registry", "file://schemas"])
                .into_iter()
                .flatten(),
        )
        .args(extra)
        .current_dir(folder)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .env("RUST_LOG", "warn")
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {} ({e}); install it with ./start_demo.sh --install-broker",
                binary.display()
            )
        })?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the broker on port {port} exited with {status}"));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Listening, and still ours: a broker that lost the port to someone else exits.
            std::thread::sleep(Duration::from_millis(50));
            if let Ok(None) = child.try_wait() {
                return Ok(child);
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("the broker did not listen on {port}"));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let kept = self.folder.path().with_extension("kept");
            if std::fs::rename(self.folder.path(), &kept).is_ok() {
                eprintln!("The broker's folder is kept in {}", kept.display());
            }
        }
    }
}
