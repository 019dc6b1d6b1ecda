//! One shop under test: its own folder (configuration, SQLite files, logs), its own topics on a
//! broker, and the services started as real processes inside that folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::events::{now_ms, OrderDetails, PizzaOrdered, StageReached};
use common::kafka::{producer_config, EventProducer};
use common::settings::{KafkaSettings, SysSettings};
use common::store::{open_order_store, NewOrder, OrderStore, StatusRules};
use tempfile::TempDir;

use crate::binaries::{binary, workspace_root};
use crate::Broker;

pub struct Shop {
    pub dir: TempDir,
    pub kafka_ini: PathBuf,
    pub sys_ini: PathBuf,
    pub kafka: KafkaSettings,
    pub sys: SysSettings,
}

/// Replaces `key = ...` in `[section]` of an ini text.
pub fn set_key(text: &str, section: &str, key: &str, value: &str) -> String {
    let mut in_section = false;
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with('[') {
                in_section = line.trim() == format!("[{section}]");
            } else if in_section && line.split('=').next().map(str::trim) == Some(key) {
                found = true;
                return format!("{key} = {value}");
            }
            line.to_owned()
        })
        .collect();
    assert!(found, "[{section}] {key} is not in the ini text");
    lines.join("\n") + "\n"
}

impl Shop {
    /// A shop on `broker` with the shipped default.ini, made instant (time_scale 0), plus `edits`
    /// as (section, key, value).
    pub async fn open(broker: &Broker, edits: &[(&str, &str, &str)]) -> Self {
        let kafka_text = format!("[kafka]\nbootstrap.servers = {}\n", broker.bootstrap());
        Self::open_with_kafka(&kafka_text, edits).await
    }

    pub async fn open_with_kafka(kafka_text: &str, edits: &[(&str, &str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = std::fs::read_to_string(workspace_root().join("config_sys/default.ini"))
            .expect("default.ini");
        let data = dir.path().join("data");
        let mut sys_text = base;
        let defaults = [
            ("simulation", "time_scale", "0"),
            ("kafka-topic-config", "num_partitions", "2"),
            (
                "state-store-orders",
                "name",
                &*data.join("orders.db").to_string_lossy().into_owned(),
            ),
            (
                "state-store-delivery",
                "name",
                &*data.join("delivery.db").to_string_lossy().into_owned(),
            ),
            ("state-store-orders", "status_watchdog_minutes", "0.01"),
            (
                "webapp",
                "session_key_file",
                &*data.join("session.key").to_string_lossy().into_owned(),
            ),
            ("state-store-orders", "status_invalid_timeout_minutes", "5"),
        ];
        for (section, key, value) in defaults.iter().chain(edits) {
            sys_text = set_key(&sys_text, section, key, value);
        }
        let kafka_ini = dir.path().join("kafka.ini");
        let sys_ini = dir.path().join("sys.ini");
        std::fs::write(&kafka_ini, kafka_text).expect("write kafka.ini");
        std::fs::write(&sys_ini, sys_text).expect("write sys.ini");
        let kafka = KafkaSettings::load(&kafka_ini).expect("kafka settings");
        let sys = SysSettings::load(&sys_ini).expect("sys settings");
        common::kafka::create_topics(&kafka, &sys)
            .await
            .expect("topics created");
        Self {
            dir,
            kafka_ini,
            sys_ini,
            kafka,
            sys,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts one of the shop's binaries in the shop's folder.
    pub fn start(&self, service: &str) -> Service {
        self.start_in(service, ".")
    }

    /// Starts a binary in a subfolder of the shop, so two instances of one service keep separate
    /// logs while sharing the configuration and the SQLite files (their paths are absolute).
    pub fn start_in(&self, service: &str, folder: &str) -> Service {
        let folder = self.path().join(folder);
        std::fs::create_dir_all(&folder).expect("instance folder");
        let child = Command::new(binary(service))
            .arg(&self.kafka_ini)
            .arg(&self.sys_ini)
            .current_dir(&folder)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {service}: {e}"));
        Service {
            name: service.to_owned(),
            child,
            log: folder.join("logs").join(format!("{service}.log")),
        }
    }

    pub fn start_pipeline(&self) -> Vec<Service> {
        ["status", "delivery", "bake", "assemble"]
            .iter()
            .map(|s| self.start(s))
            .collect()
    }

    pub fn orders(&self) -> Arc<dyn OrderStore> {
        let rules = StatusRules {
            completed: self.sys.orders_store.status_completed_when.clone(),
            unwatched: vec![self.sys.status.ids.something_wrong],
        };
        open_order_store(&self.sys.orders_store, rules).expect("orders store")
    }

    pub async fn producer(&self) -> EventProducer {
        let topics = self.sys.topics.all();
        let config = producer_config(&self.kafka, "pizza-tests");
        EventProducer::connect(&config, &topics, &Default::default())
            .await
            .expect("producer")
    }

    /// Stores an order and announces it, as the web app does.
    pub async fn place_order(&self, producer: &EventProducer, order_id: &str) {
        let timestamp = now_ms();
        let details = order_details(order_id);
        let order = NewOrder::placed(order_id, &details, timestamp, 100);
        self.orders()
            .add_order(&order, timestamp)
            .expect("order stored");
        let ordered = PizzaOrdered {
            status: 100,
            timestamp,
            order: details,
        };
        send_until_acknowledged(producer, &self.sys.topics.ordered, order_id, &ordered).await;
        let placed = StageReached {
            status: 100,
            timestamp,
        };
        send_until_acknowledged(producer, &self.sys.topics.status, order_id, &placed).await;
    }

    /// Waits until the view shows `status` for the order.
    pub async fn wait_for_status(
        &self,
        order_id: &str,
        status: i64,
        timeout: Duration,
    ) -> Result<(), String> {
        let orders = self.orders();
        let deadline = Instant::now() + timeout;
        loop {
            let now = orders.get_order(order_id).ok().flatten().map(|o| o.status);
            if now == Some(status) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "order {order_id} shows {now:?}, not {status}, after {timeout:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Places the orders one after the other, `every` apart, as a steady stream of customers.
    pub async fn place_steadily(&self, producer: &EventProducer, ids: &[String], every: Duration) {
        let mut ticks = tokio::time::interval(every);
        for id in ids {
            ticks.tick().await;
            self.place_order(producer, id).await;
        }
    }

    /// The orders that are placed (in the view) but do not show 999 yet.
    pub fn in_flight(&self, ids: &[String]) -> usize {
        let orders = self.orders();
        ids.iter()
            .filter(|id| matches!(orders.get_order(id), Ok(Some(order)) if order.status != 999))
            .count()
    }

    /// Waits until every order shows 999 or `timeout` passes; returns the orders that do not.
    pub async fn wait_until_delivered(&self, ids: &[String], timeout: Duration) -> Vec<String> {
        let orders = self.orders();
        let deadline = Instant::now() + timeout;
        loop {
            let missing: Vec<String> = ids
                .iter()
                .filter(
                    |id| !matches!(orders.get_order(id), Ok(Some(order)) if order.status == 999),
                )
                .cloned()
                .collect();
            if missing.is_empty() || Instant::now() > deadline {
                return missing;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until every order shows `status`.
    pub async fn wait_for_all(&self, order_ids: &[String], status: i64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for id in order_ids {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(problem) = self.wait_for_status(id, status, left).await {
                panic!("{problem}");
            }
        }
    }
}

impl Drop for Shop {
    /// A failed test leaves its shop's folder (logs, SQLite files) behind for a post-mortem.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let kept = self.path().with_extension("kept");
            if std::fs::rename(self.path(), &kept).is_ok() {
                eprintln!("The shop's folder is kept in {}", kept.display());
            }
        }
    }
}

/// Sends an event, trying again while the broker refuses it (as while it restarts), like a
/// customer pressing "order" again after an error page.
async fn send_until_acknowledged(
    producer: &EventProducer,
    topic: &str,
    key: &str,
    event: &impl serde::Serialize,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(error) = producer.send_json(topic, key, event).await {
        assert!(Instant::now() < deadline, "{topic} refuses {key}: {error}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `count` order ids that start with `prefix`.
pub fn ids(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|n| format!("{prefix}{n:04x}")).collect()
}

/// A customer's order whose customer id is hexadecimal, as the web app makes them.
pub fn order_details(order_id: &str) -> OrderDetails {
    OrderDetails {
        extra_toppings: vec!["Basil".into(), "Rocket".into()],
        customer_id: format!(
            "{:0>32}",
            order_id
                .bytes()
                .map(|b| format!("{:x}", b % 16))
                .collect::<String>()
        ),
        username: "Tester".into(),
        sauce: "Tomato".into(),
        cheese: "Mozzarella".into(),
        main_topping: "Ham".into(),
    }
}

pub struct Service {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Service {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit; returns its status and how long it took.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        assert!(
            sent.map(|s| s.success()).unwrap_or(false),
            "kill -TERM {}",
            self.name
        );
        let deadline = started + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            assert!(Instant::now() < deadline, "{} ignored SIGTERM", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process with SIGKILL, as a crash would: no drain, no commit, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the service's log contains `text`.
    pub async fn wait_for_log(&self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "{} never logged {text:?}; log:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
