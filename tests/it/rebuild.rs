//! The history is the truth ([docs/rebuild.md](../../docs/rebuild.md)): the orders view and
//! delivery's store, lost, come back from the topics as the live shop had them, on SQLite and on
//! PostgreSQL; a rebuild over the running shop switches whole or not at all, whenever it is
//! killed, keeps what the history does not hold, and keeps a second rebuild out.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::domain::events::now_ms;
use common::domain::status::StatusAt;
use common::domain::wiring::ServiceName;
use common::kafka::Outbound;
use common::settings::{StoreLocation, SysSettings};
use pizza_tests::binaries::binary;
use pizza_tests::ini::set_key;
use pizza_tests::loadgen::Customer;
use pizza_tests::postgres::{fresh_name, Postgres};
use pizza_tests::settled::group_caught_up;
use pizza_tests::shop::{ids, ordered, send_raw};
use pizza_tests::{Broker, Shop};
use reqwest::StatusCode;

const PATIENCE: Duration = Duration::from_secs(60);

/// Where a test's stores live.
enum Backend {
    Sqlite,
    Postgres(Arc<Postgres>),
}

impl Backend {
    fn each() -> [Backend; 2] {
        [Backend::Sqlite, Backend::Postgres(Postgres::shared())]
    }

    /// The shop's edits that put both stores on a fresh database of this backend.
    fn edits(&self) -> Vec<(&'static str, &'static str, String)> {
        match self {
            Backend::Sqlite => Vec::new(),
            Backend::Postgres(server) => {
                let database = server.database(&fresh_name("rebuild"));
                ["state-store-orders", "state-store-delivery"]
                    .into_iter()
                    .flat_map(|section| {
                        [
                            (section, "db_module_class", "postgres".to_owned()),
                            (section, "name", database.clone()),
                        ]
                    })
                    .collect()
            }
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        })
    }
}

async fn open_shop(broker: &Broker, backend: &Backend) -> Shop {
    let edits = backend.edits();
    let edits: Vec<(&str, &str, &str)> =
        edits.iter().map(|(s, k, v)| (*s, *k, v.as_str())).collect();
    Shop::open(broker, &edits).await
}

type Rows = Vec<Vec<Option<String>>>;

/// Every column as text, so that one comparison serves both backends (each is compared only with
/// itself).
async fn rows(location: &StoreLocation, sql: &str) -> Rows {
    match location {
        StoreLocation::Sqlite(file) => {
            let db = rusqlite::Connection::open(file).expect("the SQLite file opens");
            let mut statement = db.prepare(sql).expect("the query prepares");
            let width = statement.column_count();
            statement
                .query_map([], |row| {
                    (0..width)
                        .map(|i| row.get::<_, Option<String>>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .expect("the query runs")
                .collect::<Result<Vec<_>, _>>()
                .expect("the rows read")
        }
        StoreLocation::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("PostgreSQL answers");
            tokio::spawn(connection);
            client
                .query(sql, &[])
                .await
                .expect("the query runs")
                .iter()
                .map(|row| (0..row.len()).map(|i| row.get(i)).collect())
                .collect()
        }
    }
}

/// What a rebuild derives from the topics, row by row in order id order: each order with its
/// details, status and times; the orders the watchdog watches and the status each is watched
/// at; delivery's customer, baked, late and delivered of each order. Left out because no event
/// holds them: when a status was folded (the watch's time, compared apart), delivery's row
/// versions and times, a driver's claim.
#[derive(Debug, PartialEq)]
struct Derived {
    orders: Rows,
    watched: Rows,
    delivery: Rows,
    /// (order id, when the watchdog's clock for it started).
    watched_since: Vec<(String, i64)>,
}

async fn derived(sys: &SysSettings) -> Derived {
    let orders = &sys.orders_store;
    let text = |column: &str| format!("CAST({column} AS TEXT)");
    let orders_sql = format!(
        "SELECT order_id, customer_id, username, {}, sauce, cheese, main_topping, {}, {}, {} \
         FROM {} ORDER BY order_id",
        text("timestamp"),
        text("extra_toppings"),
        text("status"),
        text("status_at"),
        orders.table_orders
    );
    let watch_sql = format!(
        "SELECT order_id, {}, {} FROM {} ORDER BY order_id",
        text("status"),
        text("updated_at"),
        orders.table_status
    );
    let delivery_sql = format!(
        "SELECT order_id, customer_id, {}, {}, {} FROM {} ORDER BY order_id",
        text("baked"),
        text("late"),
        text("delivered"),
        sys.delivery_store.table_customers
    );
    let watch = rows(&orders.location, &watch_sql).await;
    Derived {
        orders: rows(&orders.location, &orders_sql).await,
        watched: watch.iter().map(|row| row[..2].to_vec()).collect(),
        delivery: rows(&sys.delivery_store.location, &delivery_sql).await,
        watched_since: watch
            .iter()
            .map(|row| {
                let id = row[0].clone().expect("an order id");
                let since = row[2]
                    .as_deref()
                    .and_then(|t| t.parse().ok())
                    .expect("a time");
                (id, since)
            })
            .collect(),
    }
}

/// The shop's settings as the services in its folder read them: relative SQLite paths resolved.
fn settings_in(shop: &Shop) -> SysSettings {
    let mut sys = SysSettings::load(&shop.sys_ini).expect("sys settings");
    for location in [
        &mut sys.orders_store.location,
        &mut sys.delivery_store.location,
    ] {
        if let StoreLocation::Sqlite(file) = location {
            *location = StoreLocation::Sqlite(shop.path().join(&*file));
        }
    }
    sys
}

/// `rebuild` on the shop's files, from its folder, its lines going to `out`.
fn spawn_rebuild(shop: &Shop, out: &Path) -> Child {
    let out = std::fs::File::create(out).expect("a file for what it says");
    Command::new(binary("rebuild"))
        .arg(&shop.kafka_ini)
        .arg(&shop.sys_ini)
        .current_dir(shop.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("rebuild starts")
}

/// Runs a rebuild to its end; what it said. Panics unless it succeeds.
fn rebuild(shop: &Shop) -> String {
    let out = shop.path().join("rebuild.out");
    let mut child = spawn_rebuild(shop, &out);
    let status = wait(&mut child, PATIENCE);
    let said = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(status.success(), "rebuild failed ({status}):\n{said}");
    said
}

fn wait(child: &mut Child, patience: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "rebuild did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
}

async fn send_status(producer: &Outbound, shop: &Shop, order_id: &str, status: i64) {
    let status = StatusAt {
        status,
        timestamp: now_ms(),
    };
    producer
        .producer()
        .send_json(&shop.sys.topics.status, order_id, &status)
        .await
        .expect("status sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_view_and_delivery_store_come_back_from_the_topics_as_they_were() {
    for backend in Backend::each() {
        lost_and_rebuilt(&backend).await;
    }
}

async fn lost_and_rebuilt(backend: &Backend) {
    // A cluster that checks no contract, so that poison reaches the topics as it can on a cluster
    // without a schema registry.
    let broker = Broker::start_without_contracts();
    let shop = open_shop(&broker, backend).await;
    let ids_of = &shop.sys.status.ids;
    let producer = shop.producer().await;
    let mut kitchen = shop.start_pipeline();

    let delivered = ids("de11", 6);
    for id in &delivered {
        shop.place_order(&producer, id).await;
    }
    // The pending path: the baked notice reaches delivery before the order does.
    let pending = "9e4d0001";
    let placed = ordered(pending);
    shop.orders
        .add_order(pending, &placed, placed.timestamp)
        .await
        .expect("stored");
    send_status(&producer, &shop, pending, ids_of.order_placed).await;
    producer
        .producer()
        .send_json(
            &shop.sys.topics.baked,
            pending,
            &StatusAt {
                status: ids_of.pizza_baked,
                timestamp: now_ms(),
            },
        )
        .await
        .expect("baked");
    shop.wait_for_status(pending, ids_of.pending, PATIENCE)
        .await
        .expect("pending first");
    producer
        .producer()
        .send_json(&shop.sys.topics.ordered, pending, &placed)
        .await
        .expect("ordered");
    let mut finished = delivered.clone();
    finished.push(pending.to_owned());
    shop.wait_for_all(&finished, ids_of.delivered, PATIENCE)
        .await;

    // Poison, a status of an order no event placed, and the original's way of writing statuses
    // (no written_by): handled as the live services handle them.
    let topics = &shop.sys.topics;
    send_raw(&producer, &topics.ordered, "bad00001", b"{not json").await;
    send_raw(
        &producer,
        &topics.status,
        &delivered[0],
        br#"{"status":"done"}"#,
    )
    .await;
    send_status(&producer, &shop, "0ff1ce00", ids_of.pizza_assembled).await;

    // Orders the oven never gets.
    let mut bake = kitchen.remove(2);
    assert_eq!(bake.name, ServiceName::Bake);
    assert!(bake.terminate().0.success());
    let assembled = ids("a55e", 3);
    for id in &assembled {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&assembled, ids_of.pizza_assembled, PATIENCE)
        .await;
    // Orders nobody assembles: one with a status [status-id] does not name, one placed ten
    // minutes ago, which the watchdog flags stuck.
    let mut assemble = kitchen.remove(2);
    assert_eq!(assemble.name, ServiceName::Assemble);
    assert!(assemble.terminate().0.success());
    let waiting = ids("0de7", 3);
    for id in &waiting {
        shop.place_order(&producer, id).await;
    }
    send_status(&producer, &shop, &waiting[0], 777).await;
    shop.wait_for_status(&waiting[0], 777, PATIENCE)
        .await
        .expect("an unnamed code shows");
    let stuck = "5ca1ab1e";
    let mut placed = ordered(stuck);
    placed.timestamp -= 10 * 60_000;
    shop.orders
        .add_order(stuck, &placed, placed.timestamp)
        .await
        .expect("stored");
    producer
        .producer()
        .send_json(&topics.ordered, stuck, &placed)
        .await
        .expect("ordered");
    shop.wait_for_status(stuck, ids_of.stuck, PATIENCE)
        .await
        .expect("flagged stuck");

    // Everything on the topics handled: what the live stores hold now is all they will.
    let groups = &shop.sys.group_ids;
    group_caught_up(&shop, &groups.status, std::slice::from_ref(&topics.status)).await;
    group_caught_up(
        &shop,
        &groups.delivery,
        &[topics.ordered.clone(), topics.baked.clone()],
    )
    .await;
    for service in &mut kitchen {
        assert!(service.terminate().0.success(), "{} stops", service.name);
    }
    let live = derived(&settings_in(&shop)).await;
    let total = delivered.len() + 1 + assembled.len() + waiting.len() + 1;
    assert_eq!(live.orders.len(), total, "{backend}: {live:#?}");

    // The view and delivery's store lost: the files deleted, or a new empty database.
    match backend {
        Backend::Sqlite => {
            for entry in std::fs::read_dir(shop.path().join("data")).expect("data/") {
                let path = entry.expect("an entry").path();
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                if name.starts_with("orders.db") || name.starts_with("delivery.db") {
                    std::fs::remove_file(&path).expect("deleted");
                }
            }
        }
        Backend::Postgres(server) => {
            let database = server.database(&fresh_name("rebuilt"));
            let mut text = std::fs::read_to_string(&shop.sys_ini).expect("sys.ini");
            for section in ["state-store-orders", "state-store-delivery"] {
                text = set_key(&text, section, "name", &database);
            }
            std::fs::write(&shop.sys_ini, text).expect("sys.ini written");
        }
    }
    let said = rebuild(&shop);
    let rebuilt = derived(&settings_in(&shop)).await;

    assert_eq!(rebuilt.orders, live.orders, "{backend}: the orders\n{said}");
    assert_eq!(
        rebuilt.watched, live.watched,
        "{backend}: the watched\n{said}"
    );
    assert_eq!(
        rebuilt.delivery, live.delivery,
        "{backend}: delivery\n{said}"
    );
    // The live watch starts when the status service folds a status, the rebuilt one at the
    // status's own time: the same moment but for the hop.
    for ((id, live_since), (_, since)) in live.watched_since.iter().zip(&rebuilt.watched_since) {
        assert!(
            (live_since - since).abs() < 10_000,
            "{backend}: {id} watched since {since}, live since {live_since}"
        );
    }
    let status_of = |id: &str| {
        rebuilt
            .orders
            .iter()
            .find(|row| row[0].as_deref() == Some(id))
            .and_then(|row| row[8].clone())
    };
    assert_eq!(
        status_of(stuck),
        Some(ids_of.stuck.to_string()),
        "{backend}"
    );
    assert_eq!(
        status_of(pending),
        Some(ids_of.delivered.to_string()),
        "{backend}"
    );
    assert_eq!(
        status_of("0ff1ce00"),
        None,
        "{backend}: no order is invented"
    );
    // Incomplete: the order of the status from nowhere, and the one whose pizza-ordered was not
    // JSON, which assemble and delivery each marked something_wrong.
    for line in [
        "pizza-ordered: ",
        "1 malformed",
        "incomplete: 2 orders have statuses (3)",
        "1 flagged stuck by the watchdog's rule",
        "777 (1)",
    ] {
        assert!(
            said.contains(line),
            "{backend}: the report lacks {line:?}:\n{said}"
        );
    }
    let malformed = said.matches(" malformed, skipped").count();
    assert_eq!(
        malformed, 2,
        "{backend}: one on pizza-ordered, one on pizza-status:\n{said}"
    );
}

/// The statuses the view shows of `orders`.
async fn shown(shop: &Shop, orders: &[String]) -> Vec<Option<i64>> {
    let mut statuses = Vec::new();
    for id in orders {
        statuses.push(shop.status_of(id).await);
    }
    statuses
}

/// Makes the view show `orders` as just placed, as a view gone wrong would: the rebuild puts
/// them right.
async fn spoil(shop: &Shop, orders: &[String]) {
    let sys = settings_in(shop);
    let ids: Vec<String> = orders.iter().map(|id| format!("'{id}'")).collect();
    let sql = format!(
        "UPDATE {} SET status = 100, status_at = 1 WHERE order_id IN ({})",
        sys.orders_store.table_orders,
        ids.join(", ")
    );
    match &sys.orders_store.location {
        StoreLocation::Sqlite(file) => {
            let db = rusqlite::Connection::open(file).expect("the SQLite file opens");
            db.busy_timeout(Duration::from_secs(10))
                .expect("a busy timeout");
            assert_eq!(db.execute(&sql, []).expect("spoilt"), orders.len());
        }
        StoreLocation::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("PostgreSQL answers");
            tokio::spawn(connection);
            let spoilt = client.execute(&sql, &[]).await.expect("spoilt");
            assert_eq!(spoilt, orders.len() as u64);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_of_the_running_shop_switches_whole_or_not_at_all_and_keeps_one_at_a_time() {
    for backend in Backend::each() {
        killed_and_refused(&backend).await;
    }
}

async fn killed_and_refused(backend: &Backend) {
    let broker = Broker::start();
    let shop = open_shop(&broker, backend).await;
    let _kitchen = shop.start_pipeline();
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;
    let ann = Customer::login(&base, "Ann").await.expect("login");
    let mut orders = Vec::new();
    for _ in 0..4 {
        orders.push(ann.order().await.expect("ordered"));
    }
    shop.wait_for_all(&orders, 999, PATIENCE).await;
    // Logging out is not an event: only the view holds it, and the switch keeps it.
    let bob = Customer::login(&base, "Bob").await.expect("login");
    assert_eq!(bob.logout(None).await.ok(), Some(StatusCode::SEE_OTHER));
    assert_eq!(
        bob.answer("/orders").await.ok(),
        Some(StatusCode::SEE_OTHER)
    );

    spoil(&shop, &orders).await;
    let spoilt = vec![Some(100); orders.len()];
    let right = vec![Some(999); orders.len()];
    assert_eq!(shown(&shop, &orders).await, spoilt);

    // Killed sooner, then later, until one run ends before it is killed: each one killed leaves
    // the view as it was, whole.
    let out = shop.path().join("killed.out");
    let mut killed_running = 0;
    let mut delay = Duration::from_millis(10);
    loop {
        let mut child = spawn_rebuild(&shop, &out);
        std::thread::sleep(delay);
        let ended = child.try_wait().expect("wait");
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let now = shown(&shop, &orders).await;
        if ended.is_some() || status.success() {
            assert!(
                status.success(),
                "{backend}: {}",
                std::fs::read_to_string(&out).unwrap_or_default()
            );
            assert_eq!(
                now, right,
                "{backend}: a finished rebuild put the view right"
            );
            break;
        }
        killed_running += 1;
        assert!(
            now == spoilt || now == right,
            "{backend}: killed after {delay:?}, the view is half switched: {now:?}"
        );
        if now == right {
            // Killed after its switch committed: put it wrong again for the next try.
            spoil(&shop, &orders).await;
        }
        delay *= 2;
        assert!(delay < PATIENCE, "{backend}: the rebuild never ended");
    }
    assert!(
        killed_running >= 3,
        "{backend}: only {killed_running} runs were killed before one ended"
    );
    assert_eq!(
        bob.answer("/orders").await.ok(),
        Some(StatusCode::SEE_OTHER),
        "{backend}: a session ended before the rebuild stays ended"
    );
    assert_eq!(ann.status(&orders[0]).await.ok(), Some(999), "{backend}");

    // One rebuild at a time: a second, while the first holds the stores, is refused and changes
    // nothing; the first then finishes.
    spoil(&shop, &orders).await;
    let first_out = shop.path().join("first.out");
    let mut first = spawn_rebuild(&shop, &first_out);
    let deadline = Instant::now() + PATIENCE;
    while !std::fs::read_to_string(&first_out)
        .unwrap_or_default()
        .contains("Rebuilding the orders view")
    {
        assert!(
            Instant::now() < deadline,
            "{backend}: the first rebuild never began"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&first, "STOP");
    let second_out = shop.path().join("second.out");
    let mut second = spawn_rebuild(&shop, &second_out);
    let refused = wait(&mut second, PATIENCE);
    let said = std::fs::read_to_string(&second_out).unwrap_or_default();
    assert!(
        !refused.success(),
        "{backend}: a second rebuild ran beside the first:\n{said}"
    );
    assert!(
        said.contains("is already running") && said.contains("run this one again"),
        "{backend}: the refusal does not say why:\n{said}"
    );
    assert_eq!(shown(&shop, &orders).await, spoilt, "{backend}");
    signal(&first, "CONT");
    assert!(
        wait(&mut first, PATIENCE).success(),
        "{backend}: the first rebuild finishes"
    );
    assert_eq!(shown(&shop, &orders).await, right, "{backend}");
}

fn signal(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -{signal}");
}
