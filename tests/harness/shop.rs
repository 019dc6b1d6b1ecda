//! One shop under test: its own folder (configuration, SQLite files, logs), its own topics on a
//! broker, and the services started as real processes inside that folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::domain::events::{now_ms, python_json, OrderDetails, Pizza, PizzaOrdered, StageEvent};
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{create_topics, producer_config, EventProducer, EventSink, Outbound};
use common::settings::{KafkaSettings, Settings, StoreLocation, SysSettings};
use store::{open_delivery_store, open_order_store, DeliveryStore, OrderStore};
use tempfile::TempDir;

use crate::binaries::{binary, workspace_root};
use crate::ini::set_key;
use crate::Broker;

pub struct Shop {
    pub dir: TempDir,
    pub kafka_ini: PathBuf,
    pub sys_ini: PathBuf,
    pub kafka: KafkaSettings,
    pub sys: SysSettings,
    /// The orders view, as the web app and the status service see it.
    pub orders: Arc<dyn OrderStore>,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop")
            .field("dir", &self.dir)
            .field("kafka_ini", &self.kafka_ini)
            .field("sys_ini", &self.sys_ini)
            .finish_non_exhaustive()
    }
}

/// The services that react to orders, in start order: everything but the web app.
pub const KITCHEN: [ServiceName; 4] = [
    ServiceName::Status,
    ServiceName::Delivery,
    ServiceName::Bake,
    ServiceName::Assemble,
];

/// The edit that makes an order stuck after 3 s without progress (the shipped 45 s is longer
/// than a test should wait).
pub const STUCK_AFTER_3_S: (&str, &str, &str) = (
    "state-store-orders",
    "status_invalid_timeout_minutes",
    "0.05",
);

impl Shop {
    /// A shop on `broker` with the shipped default.ini, made instant (time_scale 0), plus `edits`
    /// as (section, key, value).
    pub async fn open(broker: &Broker, edits: &[(&str, &str, &str)]) -> Self {
        let kafka_text = broker.kafka_ini();
        Self::open_with_kafka(&kafka_text, edits).await
    }

    /// A shop with the shipped default.ini, the test defaults, a web app on a port of its own,
    /// and `edits`.
    pub async fn open_with_kafka(kafka_text: &str, edits: &[(&str, &str, &str)]) -> Self {
        let base = std::fs::read_to_string(workspace_root().join("config_sys/default.ini"))
            .expect("default.ini");
        let own = [
            ("webapp", "bind", "127.0.0.1:0"),
            // Absolute, so instances started in subfolders share them.
            ("state-store-orders", "name", "{shop}/data/orders.db"),
            ("state-store-delivery", "name", "{shop}/data/delivery.db"),
            ("webapp", "session_key_file", "{shop}/data/session.key"),
            // Tests run in parallel: each service's metrics on a port the system chooses, read
            // back from its log (`Service::metrics_url`).
            ("metrics", "webapp", "127.0.0.1:0"),
            ("metrics", "assemble", "127.0.0.1:0"),
            ("metrics", "bake", "127.0.0.1:0"),
            ("metrics", "delivery", "127.0.0.1:0"),
            ("metrics", "status", "127.0.0.1:0"),
        ];
        let edits: Vec<(&str, &str, &str)> = Self::TEST_DEFAULTS
            .iter()
            .chain(&own)
            .chain(edits)
            .copied()
            .collect();
        Self::open_with_files(kafka_text, &base, &edits).await
    }

    /// A shop with these two files, changed only by `edits` (where `{shop}` stands for the
    /// shop's folder). The services run in that folder, so relative paths in the files (SQLite
    /// files, the session key) land there.
    pub async fn open_with_files(
        kafka_text: &str,
        sys_text: &str,
        edits: &[(&str, &str, &str)],
    ) -> Self {
        Self::open_with_topics(kafka_text, sys_text, edits, &Topic::ALL).await
    }

    /// [`Self::open_with_files`] on a cluster where only `topics` exist yet.
    pub async fn open_with_topics(
        kafka_text: &str,
        sys_text: &str,
        edits: &[(&str, &str, &str)],
        topics: &[Topic],
    ) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("shop-")
            .tempdir()
            .expect("temp dir");
        let shop = dir.path().to_string_lossy().into_owned();
        let sys_text = edits
            .iter()
            .fold(sys_text.to_owned(), |text, (section, key, value)| {
                set_key(&text, section, key, &value.replace("{shop}", &shop))
            });
        let kafka_ini = dir.path().join("kafka.ini");
        let sys_ini = dir.path().join("sys.ini");
        std::fs::write(&kafka_ini, kafka_text).expect("write kafka.ini");
        std::fs::write(&sys_ini, sys_text).expect("write sys.ini");
        let kafka = KafkaSettings::load(&kafka_ini).expect("kafka settings");
        let sys = SysSettings::load(&sys_ini).expect("sys settings");
        create_topics(&kafka, &sys, topics)
            .await
            .expect("topics created");
        // The harness reads the view the services write, from their folder.
        let mut view = sys.orders_store.clone();
        if let StoreLocation::Sqlite(file) = &view.location {
            view.location = StoreLocation::Sqlite(dir.path().join(file));
        }
        let orders = open_order_store(&view).await.expect("orders store");
        Self {
            dir,
            kafka_ini,
            sys_ini,
            kafka,
            sys,
            orders,
        }
    }

    /// The settings with which the shop's test defaults apply: instant kitchen, two partitions,
    /// a watchdog that checks often but flags late.
    pub const TEST_DEFAULTS: [(&'static str, &'static str, &'static str); 5] = [
        ("simulation", "time_scale", "0"),
        ("kafka-topic-config", "num_partitions", "2"),
        ("kafka-topic-config", "replication_factor", "1"),
        ("state-store-orders", "status_watchdog_minutes", "0.01"),
        ("state-store-orders", "status_invalid_timeout_minutes", "5"),
    ];

    /// Delivery's store, as the delivery service opens it in the shop's folder.
    pub async fn delivery_store(&self) -> Arc<dyn DeliveryStore> {
        let mut settings = self.sys.delivery_store.clone();
        if let StoreLocation::Sqlite(file) = &settings.location {
            settings.location = StoreLocation::Sqlite(self.path().join(file));
        }
        open_delivery_store(&settings)
            .await
            .expect("delivery store")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn settings(&self) -> Settings {
        Settings {
            kafka: self.kafka.clone(),
            sys: self.sys.clone(),
        }
    }

    /// Starts one of the shop's binaries in the shop's folder.
    pub fn start(&self, service: ServiceName) -> Service {
        self.start_in(service, ".")
    }

    /// Starts a binary in a subfolder of the shop, so two instances of one service keep separate
    /// logs while sharing the configuration and the SQLite files (their paths are absolute).
    pub fn start_in(&self, service: ServiceName, folder: &str) -> Service {
        self.start_with(service, folder, &[])
    }

    /// [`Self::start_in`] with extra environment variables.
    pub fn start_with(&self, service: ServiceName, folder: &str, env: &[(&str, &str)]) -> Service {
        let folder = self.path().join(folder);
        std::fs::create_dir_all(&folder).expect("instance folder");
        let log = folder.join("logs").join(format!("{service}.log"));
        // An earlier process of the service in this folder wrote to the same file.
        let log_start = std::fs::metadata(&log).map_or(0, |m| m.len());
        let child = Command::new(binary(service.as_str()))
            .arg(&self.kafka_ini)
            .arg(&self.sys_ini)
            .current_dir(&folder)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {service}: {e}"));
        Service {
            name: service,
            child,
            log,
            log_start,
        }
    }

    /// The four kitchen services.
    pub fn start_pipeline(&self) -> Vec<Service> {
        KITCHEN.iter().map(|s| self.start(*s)).collect()
    }

    /// What the harness sends with: the same status rules as the web app's.
    pub async fn producer(&self) -> Outbound {
        let topics = self.sys.topics.names(&Topic::ALL);
        let config = producer_config(&self.kafka, "pizza-tests");
        let stop = Default::default();
        let producer = EventProducer::connect(&config, &topics, &stop)
            .await
            .expect("producer");
        // It stands in for the web app (orders and their statuses) and for any other sender.
        Outbound::new(
            producer,
            &self.settings(),
            ServiceName::Webapp,
            &Topic::ALL,
            "pizza-tests",
            &stop,
        )
        .await
    }

    /// Stores an order and announces it, as the web app does.
    pub async fn place_order(&self, outbound: &Outbound, order_id: &str) {
        let placed = ordered(order_id);
        self.orders
            .add_order(order_id, &placed, placed.timestamp)
            .await
            .expect("order stored");
        let payload = python_json::to_vec(&placed).expect("an order is JSON");
        let deadline = Instant::now() + Duration::from_secs(60);
        // Sent again while the broker refuses it (as while it restarts), like a customer pressing
        // "order" again after an error page.
        loop {
            let sent = outbound
                .stage(
                    Topic::Ordered,
                    order_id,
                    payload.clone(),
                    placed.status_at(),
                )
                .await;
            match sent.all().await {
                Ok(()) => return,
                Err(error) => {
                    assert!(Instant::now() < deadline, "{order_id} refused: {error}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// What the view shows for an order, if it has it.
    pub async fn status_of(&self, order_id: &str) -> Option<i64> {
        self.orders
            .get_order(order_id)
            .await
            .ok()
            .flatten()
            .map(|o| o.status.status)
    }

    /// Waits until the view shows `status` for the order.
    pub async fn wait_for_status(
        &self,
        order_id: &str,
        status: i64,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.status_of(order_id).await;
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
    pub async fn place_steadily(&self, outbound: &Outbound, ids: &[String], every: Duration) {
        let mut ticks = tokio::time::interval(every);
        for id in ids {
            ticks.tick().await;
            self.place_order(outbound, id).await;
        }
    }

    /// The orders of `ids` that a kitchen service has started on and that are not delivered
    /// yet: the view shows them pending, assembled or baked. "Placed" says nothing of the
    /// kitchen (the harness writes each order into the view before sending it), nor does the
    /// watchdog's "stuck".
    pub async fn started(&self, ids: &[String]) -> Vec<String> {
        let codes = &self.sys.status.ids;
        let under_way = [codes.pending, codes.pizza_assembled, codes.pizza_baked];
        let mut started = Vec::new();
        for id in ids {
            if matches!(self.status_of(id).await, Some(status) if under_way.contains(&status)) {
                started.push(id.clone());
            }
        }
        started
    }

    /// How many orders of `ids` are in flight: see [`Self::started`].
    pub async fn in_flight(&self, ids: &[String]) -> usize {
        self.started(ids).await.len()
    }

    /// Waits until some order of `ids` is in flight (see [`Self::started`]); returns how many
    /// are. A fault struck after this hits orders the kitchen is working on.
    pub async fn wait_for_in_flight(&self, ids: &[String], timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let flying = self.in_flight(ids).await;
            if flying > 0 {
                return flying;
            }
            assert!(
                Instant::now() < deadline,
                "no order was in flight within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every order shows 999 or `timeout` passes; returns the orders that do not.
    pub async fn wait_until_delivered(&self, ids: &[String], timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut missing: Vec<String> = ids.to_vec();
        loop {
            let mut still = Vec::new();
            for id in missing {
                if self.status_of(&id).await != Some(999) {
                    still.push(id);
                }
            }
            missing = still;
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

/// `count` order ids that start with `prefix`.
pub fn ids(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|n| format!("{prefix}{n:04x}")).collect()
}

/// A customer's order whose customer id is hexadecimal, as the web app makes them.
pub fn order_details(order_id: &str) -> OrderDetails {
    OrderDetails {
        customer_id: format!(
            "{:0>32}",
            order_id
                .bytes()
                .map(|b| format!("{:x}", b % 16))
                .collect::<String>()
        ),
        username: "Tester".into(),
        pizza: Pizza {
            sauce: "Tomato".into(),
            cheese: "Mozzarella".into(),
            main_topping: "Pepperoni".into(),
            extra_toppings: vec!["Mushroom".into(), "Onion".into()],
        },
    }
}

/// The `pizza-ordered` event of a new order, placed now.
pub fn ordered(order_id: &str) -> PizzaOrdered {
    PizzaOrdered {
        status: 100,
        timestamp: now_ms(),
        order: order_details(order_id),
    }
}

/// Sends a value with a key (empty: none to speak of) to `topic`, as any producer could,
/// whatever it holds: poison, on a broker that checks no contract.
pub async fn send_raw(producer: &Outbound, topic: &str, key: &str, value: &[u8]) {
    let sent = producer
        .producer()
        .enqueue(topic, key.as_bytes(), value, None)
        .expect("enqueued");
    common::kafka::acknowledged(topic, sent)
        .await
        .unwrap_or_else(|e| panic!("{topic}: {e}"));
}

#[derive(Debug)]
pub struct Service {
    pub name: ServiceName,
    child: Child,
    log: PathBuf,
    /// Where this process's lines begin in the log file.
    log_start: u64,
}

impl Service {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit; returns its status and how long it took.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        self.signal("TERM");
        self.wait_for_exit(Duration::from_secs(20))
    }

    /// SIGTERM, waiting without blocking the thread, so that orders can be placed from the same
    /// test while the service shuts down.
    pub async fn stop(&mut self) -> (ExitStatus, Duration) {
        self.signal("TERM");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} did not exit",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends a signal (`TERM`, `INT`, …) without waiting.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status();
        assert!(
            sent.map(|s| s.success()).unwrap_or(false),
            "kill -{signal} {}",
            self.name
        );
    }

    /// Waits for the process to exit; returns its status and how long that took.
    pub fn wait_for_exit(&mut self, patience: Duration) -> (ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            assert!(started.elapsed() < patience, "{} did not exit", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process with SIGKILL, as a crash would: no drain, no commit, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What this process has logged so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            use std::io::{Read, Seek, SeekFrom};
            if file.seek(SeekFrom::Start(self.log_start)).is_ok() {
                let _ = file.read_to_string(&mut text);
            }
        }
        text
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

    /// The web app's base URL, once it listens (it binds port 0 and logs the port it got).
    pub async fn web_address(&self) -> String {
        self.logged_after("Web app listening on ").await
    }

    /// Where the service serves its metrics (`http://127.0.0.1:PORT/metrics`), once it does: the
    /// harness gives it port 0, and it logs the port it got.
    pub async fn metrics_url(&self) -> String {
        self.logged_after(common::metrics::URL_MARKER).await
    }

    /// What follows `marker` on the last log line holding it, once there is one.
    async fn logged_after(&self, marker: &str) -> String {
        self.wait_for_log(marker, Duration::from_secs(60)).await;
        let log = self.log();
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains(marker))
            .expect("the line just seen");
        line.split(marker)
            .nth(1)
            .expect("an address after the marker")
            .trim()
            .to_owned()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
