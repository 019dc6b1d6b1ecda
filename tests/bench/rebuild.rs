//! `bench --rebuild [--orders N]`: the `rebuild` program on a history of N orders, with the shop
//! running and a customer reading their My Orders page throughout.
//!
//! The history is written straight to the topics, event for event as the services write them,
//! while the view stays empty: a shop that lost its database, whose status service had long
//! handled every status (its group's offsets are at the end of `pizza-status`). The web app and
//! the status service then run as in production; one customer logs in and places a real order,
//! and reads `/orders` back to back while `rebuild` runs. Afterwards the view must hold every
//! order of the history and the customer's, or the run fails after printing what it measured.

use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use common::domain::events::{
    now_ms, python_json, OrderDetails, Pizza, PizzaAssembled, PizzaOrdered, StageEvent,
};
use common::domain::route::delivery_seconds;
use common::domain::status::StatusIds;
use common::domain::status::{StatusAt, StatusWritten};
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{producer_config, Ack, EventProducer, GroupReader, PartitionOffsets};
use common::settings::{ClientRole, KafkaSettings, Menu, SysSettings};
use futures::StreamExt;
use pizza_tests::loadgen::{percentile, Customer};
use pizza_tests::postgres::Postgres;
use pizza_tests::{Broker, Shop};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::figure;
use crate::process_stats::{cpu_time, tree_cpu_time};

/// What the rebuild should reach on this machine: a 100,000-order history (about 700,000 events
/// to read) rebuilt in well under a minute.
const EVENTS_PER_S_TARGET: f64 = 20_000.0;
/// A customer's page should not notice the rebuild.
const PAGE_P99_TARGET_MS: f64 = 50.0;

/// As the benchmark's other modes: enough partitions that each topic is read in several streams.
const PARTITIONS: &str = "6";
/// About 3% of the orders were baked before delivery heard of them (`pizza-pending`, status 150).
const PENDING_EVERY: usize = 32;
const ORDERS_PER_CUSTOMER: usize = 5;
/// The history's orders were placed over the last three hours: inside the four hours the view
/// and delivery's store keep (`*_retention_hours` in default.ini), so the rebuild keeps them all.
const HISTORY_SPAN_MS: i64 = 3 * 3_600_000;
/// The youngest order was delivered well before the rebuild starts.
const HISTORY_ENDS_BEFORE_MS: i64 = 10 * 60_000;

/// Events handed to librdkafka and not yet acknowledged, at most: far below its queue's limit
/// (set below), so an enqueue never finds the queue full.
const IN_FLIGHT: usize = 100_000;
/// The history's batches: the local broker lists every batch it stores on each fetch, so a
/// history written in small batches (the services' `linger.ms = 1` under light load) would be
/// slower to read than any history a real shop leaves. Large ones keep the broker out of the
/// figure, which is the rebuild's.
const HISTORY_PRODUCER: [(&str, &str); 5] = [
    ("linger.ms", "30"),
    ("batch.size", "1000000"),
    ("batch.num.messages", "10000"),
    ("queue.buffering.max.messages", "1000000"),
    // The whole history is queued at once; what is behind waits its turn, not a failure.
    ("message.timeout.ms", "300000"),
];

/// The page read before the rebuild, for a baseline of its latency.
const BASELINE: Duration = Duration::from_secs(3);
/// How often the rebuild's peak memory is looked at.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// Each request to the broker from the helpers here gives up after this.
const KAFKA_PATIENCE: Duration = Duration::from_secs(10);
/// Orders looked up at once when the view is checked.
const CHECKS_AT_ONCE: usize = 32;

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) orders: usize,
    /// The shop's stores on PostgreSQL instead of SQLite files.
    pub(crate) postgres: bool,
    /// A broker whose topics live in SQLite instead of memory.
    pub(crate) durable_broker: bool,
    /// Extra `key = value` lines for `[kafka]`: the rebuild reads with them too.
    pub(crate) kafka: Vec<String>,
    pub(crate) service_env: Vec<(String, String)>,
}

/// Measures a rebuild; the figures, and whether the rebuilt stores hold what they must (a
/// failed check is returned with the figures, so a wrong rebuild is still measured and shown).
pub(crate) async fn measure(options: &Options) -> anyhow::Result<(Value, anyhow::Result<()>)> {
    // Built first, so no build runs while anything is timed.
    let rebuild = pizza_tests::binaries::binary("rebuild");
    let broker = if options.durable_broker {
        Broker::start_durable()
    } else {
        Broker::start()
    };
    let kafka = crate::shop_config::kafka_ini(&broker, &options.kafka);
    let mut settings = vec![("kafka-topic-config", "num_partitions", PARTITIONS)];
    // The shipped watchdog queries the live view while the rebuild runs, as in production.
    settings.extend(crate::shop_config::SHIPPED_WATCHDOG);
    let postgres = options.postgres.then(Postgres::start);
    let database = postgres.as_ref().map(|server| server.database("bench"));
    if let Some(url) = &database {
        crate::shop_config::stores_on_postgres(&mut settings, url);
    }
    let shop = Shop::open_with_kafka(&kafka, &settings).await;

    eprintln!(
        "Writing a history of {} orders to the topics...",
        options.orders
    );
    let history = write_history(&shop, options.orders).await?;
    eprintln!(
        "  {} events in {:.1} s",
        history.events,
        history.took.as_secs_f64()
    );
    let skip = (shop.kafka.clone(), shop.sys.clone());
    tokio::task::spawn_blocking(move || status_group_at_end(&skip.0, &skip.1))
        .await
        .context("the thread committing the status group's offsets")??;

    eprintln!("Starting the status service and the web app...");
    let env: Vec<(&str, &str)> = options
        .service_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let status = shop.start_with(ServiceName::Status, ".", &env);
    let webapp = shop.start_with(ServiceName::Webapp, ".", &env);
    let base = webapp.web_address().await;
    status
        .wait_for_log("Partitions assigned: pizza", Duration::from_secs(60))
        .await;
    let customer = Customer::login(&base, "Reader")
        .await
        .map_err(|f| anyhow::anyhow!("login: {f:?}"))?;
    let order_id = customer
        .order()
        .await
        .map_err(|f| anyhow::anyhow!("order: {f:?}"))?;
    if history.contains(&order_id) {
        bail!("the web app drew order id {order_id}, which the history already holds: run again");
    }
    status_caught_up(&shop).await?;
    let before = shop_view_count(&shop, &history, &order_id).await?;
    if before.present != 1 {
        bail!(
            "before the rebuild the view should hold only the customer's order; it holds {} of the {} orders looked up",
            before.present,
            history.orders.len() + 1
        );
    }

    eprintln!(
        "GET /orders for {} s before the rebuild...",
        BASELINE.as_secs()
    );
    let baseline = read_for(&customer, BASELINE).await;

    eprintln!("Rebuilding while the customer reads /orders...");
    let processes = [
        ("broker", broker.pid()),
        ("webapp", webapp.pid()),
        ("status", status.pid()),
        // This process: mostly the customer's HTTP client.
        ("bench", std::process::id()),
    ];
    let database_cpu = || {
        postgres
            .as_ref()
            .and_then(Postgres::server_pid)
            .map_or(Duration::ZERO, tree_cpu_time)
    };
    let cpu_before: Vec<Duration> = processes.iter().map(|(_, pid)| cpu_time(*pid)).collect();
    let database_before = database_cpu();
    let machine_before = machine_busy_cpu();
    let stop = CancellationToken::new();
    let reading = tokio::spawn({
        let (customer, stop) = (customer.clone(), stop.clone());
        async move { read_until(&customer, &stop).await }
    });
    let run = run_rebuild(&rebuild, &shop).await;
    stop.cancel();
    let during = reading.await.context("the reading task")?;
    let cpu: Vec<(&'static str, Duration)> = processes
        .iter()
        .zip(cpu_before)
        .map(|((name, pid), before)| (*name, cpu_time(*pid).saturating_sub(before)))
        .collect();
    let database_spent = database_cpu().saturating_sub(database_before);
    let machine = machine_busy_cpu().saturating_sub(machine_before);
    let run = run?;

    eprintln!("Checking the rebuilt view and delivery's store...");
    let after = shop_view_count(&shop, &history, &order_id).await?;
    let deliveries = delivery_check(&shop, &history).await?;
    let checked = check(&after, &deliveries, &history);

    let result = Measured {
        options,
        history: &history,
        run: &run,
        baseline: &baseline,
        during: &during,
        cpu,
        database_cpu: postgres.is_some().then_some(database_spent),
        machine_cpu: machine,
        view: &after,
        delivery: &deliveries,
    }
    .figures();
    Ok((result, checked))
}

/// The history as written: which orders, which of them went the pending way, how long it took.
#[derive(Debug)]
struct History {
    orders: Vec<(String, bool)>,
    ids: HashSet<String>,
    events: usize,
    took: Duration,
}

impl History {
    fn contains(&self, order_id: &str) -> bool {
        self.ids.contains(order_id)
    }

    fn pending(&self) -> usize {
        self.orders.iter().filter(|(_, pending)| *pending).count()
    }
}

/// Writes `count` orders, each with every event the shop writes for it, keyed by its order id
/// with the shop's partitioner: the web app's, assemble's, bake's and delivery's events and
/// their statuses, with the times the kitchen's rules give.
async fn write_history(shop: &Shop, count: usize) -> anyhow::Result<History> {
    let started = Instant::now();
    let mut config = producer_config(&shop.kafka, "pizza-bench-history");
    for (key, value) in HISTORY_PRODUCER {
        config.set(key, value);
    }
    let names = shop.sys.topics.names(&Topic::ALL);
    let producer = EventProducer::connect(&config, &names, &CancellationToken::new())
        .await
        .context("the history's producer")?;
    // The same history every run, so runs compare like for like.
    let mut rng = StdRng::seed_from_u64(20_240_601);
    let customers: Vec<String> = (0..count.div_ceil(ORDERS_PER_CUSTOMER).max(1))
        .map(|_| format!("{:032x}", rng.random::<u128>()))
        .collect();
    let first_ms = now_ms() - HISTORY_ENDS_BEFORE_MS - HISTORY_SPAN_MS;
    let gap_ms = HISTORY_SPAN_MS / i64::try_from(count.max(1)).unwrap_or(i64::MAX);
    let mut history = History {
        orders: Vec::with_capacity(count),
        ids: HashSet::with_capacity(count),
        events: 0,
        took: Duration::ZERO,
    };
    let mut in_flight: VecDeque<Ack> = VecDeque::new();
    for n in 0..count {
        // As the web app draws them: 8 hex digits, drawn again on a clash.
        let order_id = loop {
            let id = format!("{:08x}", rng.random::<u32>());
            if history.ids.insert(id.clone()) {
                break id;
            }
        };
        let customer = &customers[rng.random_range(0..customers.len())];
        let placed_at = first_ms + i64::try_from(n).unwrap_or(i64::MAX) * gap_ms;
        let pending = n % PENDING_EVERY == PENDING_EVERY - 1;
        let events = order_events(
            &mut rng,
            &shop.sys.menu,
            &shop.sys.status.ids,
            customer,
            placed_at,
            pending,
        )?;
        for (topic, payload) in events {
            let name = shop.sys.topics.name(topic);
            in_flight.push_back(producer.enqueue(name, order_id.as_bytes(), &payload, None)?);
            history.events += 1;
        }
        while in_flight.len() > IN_FLIGHT {
            if let Some(ack) = in_flight.pop_front() {
                landed(ack).await?;
            }
        }
        history.orders.push((order_id, pending));
        if (n + 1) % (count / 10).max(1) == 0 {
            eprintln!("  {} orders handed to the producer", n + 1);
        }
    }
    for ack in in_flight {
        landed(ack).await?;
    }
    history.took = started.elapsed();
    Ok(history)
}

async fn landed(ack: Ack) -> anyhow::Result<()> {
    ack.await
        .context("the producer dropped an event of the history")?
        .context("the broker refused an event of the history")?;
    Ok(())
}

/// One order's events in the order the shop writes them, each stage's status beside it with
/// its writer: placed (web app), assembled (assemble), baked (bake), then either delivered, or,
/// on the pending path, pending and delivered after twice the drive (delivery).
fn order_events(
    rng: &mut StdRng,
    menu: &Menu,
    ids: &StatusIds,
    customer_id: &str,
    placed_at: i64,
    pending: bool,
) -> anyhow::Result<Vec<(Topic, Vec<u8>)>> {
    let pick = |rng: &mut StdRng, from: &[String]| from[rng.random_range(0..from.len())].clone();
    let extras = rng.random_range(0..=2);
    let pizza = Pizza {
        sauce: pick(rng, &menu.sauce),
        cheese: pick(rng, &menu.cheese),
        main_topping: pick(rng, &menu.main_topping),
        extra_toppings: (0..extras)
            .map(|_| pick(rng, &menu.extra_toppings))
            .collect(),
    };
    let ordered = PizzaOrdered {
        status: ids.order_placed,
        timestamp: placed_at,
        order: OrderDetails {
            customer_id: customer_id.to_owned(),
            username: format!("Customer {}", &customer_id[..6]),
            pizza,
        },
    };
    // assemble: 4 to 11 s, then 8 to 15 s in the oven (recipe seed % 8 + 4, % 8 + 8).
    let seed: i64 = rng.random_range(0..8);
    let assembled_at = placed_at + (seed + 4) * 1_000;
    let assembled = PizzaAssembled {
        status: ids.pizza_assembled,
        baking_time: u64::try_from(seed + 8).unwrap_or(8),
        timestamp: assembled_at,
    };
    let baked = StatusAt {
        status: ids.pizza_baked,
        timestamp: assembled_at + (seed + 8) * 1_000,
    };
    let drive_ms = |late| {
        delivery_seconds(customer_id, late)
            .map(|s| i64::try_from(s).unwrap_or(i64::MAX) * 1_000)
            .context("the history's customer ids are hexadecimal")
    };
    let mut events = vec![
        (Topic::Ordered, python_json::to_vec(&ordered)?),
        status(ordered.status_at(), ServiceName::Webapp)?,
        (Topic::Assembled, python_json::to_vec(&assembled)?),
        status(assembled.status_at(), ServiceName::Assemble)?,
        (Topic::Baked, python_json::to_vec(&baked)?),
        status(baked, ServiceName::Bake)?,
    ];
    let delivered_at = if pending {
        let noticed = StatusAt {
            status: ids.pending,
            timestamp: baked.timestamp + rng.random_range(1..3_000),
        };
        events.push((Topic::Pending, python_json::to_vec(&noticed)?));
        events.push(status(noticed, ServiceName::Delivery)?);
        noticed.timestamp + drive_ms(true)?
    } else {
        baked.timestamp + drive_ms(false)?
    };
    let delivered = StatusAt {
        status: ids.delivered,
        timestamp: delivered_at,
    };
    events.push((Topic::Delivered, python_json::to_vec(&delivered)?));
    events.push(status(delivered, ServiceName::Delivery)?);
    Ok(events)
}

fn status(at: StatusAt, writer: ServiceName) -> anyhow::Result<(Topic, Vec<u8>)> {
    Ok((
        Topic::Status,
        python_json::to_vec(&StatusWritten::new(at, writer))?,
    ))
}

/// Commits the status group's offsets at the end of `pizza-status`, as a status service that
/// handled the whole history as it happened left them, so the one started here reads only what
/// comes next. Blocking.
fn status_group_at_end(kafka: &KafkaSettings, sys: &SysSettings) -> anyhow::Result<()> {
    let topic = &sys.topics.status;
    let mut config = kafka.client_config(ClientRole::Consumer);
    config
        .set("group.id", &sys.group_ids.status)
        .set("enable.auto.commit", "false");
    let consumer: BaseConsumer = config.create().context("the offsets' client")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), KAFKA_PATIENCE)
        .context("the status topic's partitions")?;
    let mut ends = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (_, end) = consumer
            .fetch_watermarks(topic, partition.id(), KAFKA_PATIENCE)
            .context("the end of a status partition")?;
        ends.add_partition_offset(topic, partition.id(), Offset::Offset(end))
            .context("a status partition's end")?;
    }
    consumer
        .commit(&ends, CommitMode::Sync)
        .context("committing the status group's offsets")?;
    Ok(())
}

/// Waits until the status group has handled everything on `pizza-status` (the customer's
/// status), so the rebuild starts on a quiet shop.
async fn status_caught_up(shop: &Shop) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let reader = GroupReader::new(
            &shop.kafka,
            &shop.sys.group_ids.status,
            "pizza-bench",
            "lag",
            vec![shop.sys.topics.status.clone()],
        );
        let offsets = tokio::task::spawn_blocking(move || reader.read())
            .await
            .context("the thread reading the status group")??;
        let lag: i64 = offsets.partitions.iter().map(PartitionOffsets::lag).sum();
        if lag == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the status service is still {lag} events behind after 120 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Latencies of one customer's page, read one request at a time.
#[derive(Debug, Default)]
struct Reads {
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

async fn read_once(customer: &Customer, reads: &mut Reads) {
    let sent = Instant::now();
    match customer.get("/orders").await {
        Ok(()) => reads.latencies.push(sent.elapsed()),
        Err(failure) => {
            reads.failures.push(format!("{failure:?}"));
            // A web app that refuses is not hammered.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn read_for(customer: &Customer, duration: Duration) -> Reads {
    let mut reads = Reads::default();
    let until = Instant::now() + duration;
    while Instant::now() < until {
        read_once(customer, &mut reads).await;
    }
    reads
}

async fn read_until(customer: &Customer, stop: &CancellationToken) -> Reads {
    let mut reads = Reads::default();
    while !stop.is_cancelled() {
        read_once(customer, &mut reads).await;
    }
    reads
}

/// What one run of the `rebuild` program showed.
#[derive(Debug)]
struct RebuildRun {
    wall: Duration,
    /// Each line it wrote, with when it arrived after the start.
    lines: Vec<(Duration, String)>,
    /// Its user and system CPU time, counted by the kernel when it exited.
    cpu: Duration,
    peak_rss_mb: f64,
}

impl RebuildRun {
    /// When the first line holding `text` arrived.
    fn first(&self, text: &str) -> Option<Duration> {
        self.lines
            .iter()
            .find(|(_, line)| line.contains(text))
            .map(|(at, _)| *at)
    }

    /// When the last line holding `text` arrived.
    fn last(&self, text: &str) -> Option<Duration> {
        self.lines
            .iter()
            .rev()
            .find(|(_, line)| line.contains(text))
            .map(|(at, _)| *at)
    }

    fn report(&self) -> Option<Reported> {
        self.lines
            .iter()
            .find_map(|(_, line)| Reported::parse(line))
    }
}

/// Runs `rebuild` on the shop's files from its folder, as an operator would, echoing its lines.
async fn run_rebuild(binary: &Path, shop: &Shop) -> anyhow::Result<RebuildRun> {
    let reaped_before = reaped_children_cpu();
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .arg(&shop.kafka_ini)
        .arg(&shop.sys_ini)
        .current_dir(shop.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let pid = child.id().context("the rebuild's pid")?;
    let stdout = child.stdout.take().context("the rebuild's stdout")?;
    let mut stderr = child.stderr.take().context("the rebuild's stderr")?;
    let lines = tokio::spawn(async move {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            eprintln!("  | {line}");
            lines.push((started.elapsed(), line));
        }
        lines
    });
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut peak_rss_mb = 0.0f64;
    let exit = loop {
        tokio::select! {
            exit = child.wait() => break exit.context("waiting for the rebuild")?,
            () = tokio::time::sleep(SAMPLE_EVERY) => {
                peak_rss_mb = peak_rss_mb.max(peak_resident_mb(pid));
            }
        }
    };
    let wall = started.elapsed();
    let cpu = reaped_children_cpu().saturating_sub(reaped_before);
    let lines = lines.await.context("the rebuild's output")?;
    let errors = errors.await.context("the rebuild's errors")?;
    if !exit.success() {
        let tail: Vec<&str> = lines
            .iter()
            .rev()
            .take(20)
            .rev()
            .map(|(_, l)| l.as_str())
            .collect();
        bail!(
            "the rebuild failed ({exit}):\n{}\n{errors}",
            tail.join("\n")
        );
    }
    Ok(RebuildRun {
        wall,
        lines,
        cpu,
        peak_rss_mb,
    })
}

/// CPU time every core of the machine has been busy so far (`/proc/stat`: all but idle and
/// iowait).
fn machine_busy_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal; guest time is already in user.
    let busy: u64 = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, ticks)| ticks)
        .sum();
    Duration::from_secs_f64(busy as f64 / 100.0)
}

/// The highest resident memory the process has had so far (`VmHWM`), in MB.
fn peak_resident_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time of this process's children that have exited and been waited for (cutime + cstime):
/// exact for a child, unlike samples of it taken while it runs, which miss its last moments.
fn reaped_children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    // After the name: state is the first field, cutime the 14th and cstime the 15th.
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(13)
        .take(2)
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .sum();
    // USER_HZ, as in process_stats.
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

/// The rebuild's own summary: `Rebuilt in X s: N events read (R events/s), M orders`, where R
/// is the first read's rate (the history, before the catch-ups and the writes).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reported {
    took_s: f64,
    events: u64,
    read_rate: u64,
    orders: u64,
}

impl Reported {
    fn parse(line: &str) -> Option<Self> {
        let rest = line.split_once("Rebuilt in ")?.1;
        let (took, rest) = rest.split_once(" s: ")?;
        let (events, rest) = rest.split_once(" events read (")?;
        let (rate, rest) = rest.split_once(" events/s), ")?;
        let orders = rest.trim().strip_suffix(" orders")?;
        let count = |text: &str| text.replace(',', "").trim().parse::<u64>().ok();
        Some(Self {
            took_s: took.trim().parse().ok()?,
            events: count(events)?,
            read_rate: count(rate)?,
            orders: count(orders)?,
        })
    }
}

/// When each topic was read to its end, from the progress lines (`Read pizza-ordered 1,200 of
/// 5,000 · pizza-status 0 of 20,000 · …`, one a second): to the second, which is enough to say
/// which topic the read spends its time on.
fn topics_read(run: &RebuildRun) -> Value {
    let mut finished: Vec<(String, u64, f64)> = Vec::new();
    for (at, line) in &run.lines {
        let Some((_, progress)) = line.split_once(" - Read ") else {
            continue;
        };
        for part in progress.split(" · ") {
            let mut words = part.split_whitespace();
            let (Some(topic), Some(done), Some("of"), Some(total)) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                continue;
            };
            let count = |text: &str| text.replace(',', "").parse::<u64>().ok();
            let (Some(done), Some(total)) = (count(done), count(total)) else {
                continue;
            };
            if done == total && !finished.iter().any(|(t, _, _)| t == topic) {
                finished.push((topic.to_owned(), total, round(at.as_secs_f64(), 1)));
            }
        }
    }
    finished
        .into_iter()
        .map(|(topic, events, at)| json!({"topic": topic, "events": events, "read_by_s": at}))
        .collect()
}

/// How many of the history's orders (and the customer's) the view holds, and as what.
#[derive(Debug, Default)]
struct ViewCount {
    /// Orders of the history and the customer's that the view holds.
    present: usize,
    /// Orders of the history that show what their last event says: delivered.
    delivered: usize,
    missing: Vec<String>,
}

async fn shop_view_count(
    shop: &Shop,
    history: &History,
    customer_order: &str,
) -> anyhow::Result<ViewCount> {
    let delivered = shop.sys.status.ids.delivered;
    let ids = history
        .orders
        .iter()
        .map(|(id, _)| id.as_str())
        .chain([customer_order]);
    let mut looked_up = futures::stream::iter(ids)
        .map(|id| async move { (id, shop.orders.get_order(id).await) })
        .buffer_unordered(CHECKS_AT_ONCE);
    let mut count = ViewCount::default();
    while let Some((id, found)) = looked_up.next().await {
        match found.with_context(|| format!("looking up order {id} in the view"))? {
            Some(order) => {
                count.present += 1;
                if id != customer_order && order.status.status == delivered {
                    count.delivered += 1;
                }
            }
            None => count.missing.push(id.to_owned()),
        }
    }
    Ok(count)
}

/// How many of the history's orders delivery's store remembers as the history left them:
/// the customer, delivered, and late exactly when the order went the pending way.
#[derive(Debug, Default)]
struct DeliveryCount {
    matching: usize,
    wrong: Vec<String>,
}

async fn delivery_check(shop: &Shop, history: &History) -> anyhow::Result<DeliveryCount> {
    let store = shop.delivery_store().await;
    let store = store.as_ref();
    let mut looked_up = futures::stream::iter(&history.orders)
        .map(|(id, pending)| async move { (id, *pending, store.load(id).await) })
        .buffer_unordered(CHECKS_AT_ONCE);
    let mut count = DeliveryCount::default();
    while let Some((id, pending, found)) = looked_up.next().await {
        let found = found.with_context(|| format!("looking up order {id} in delivery's store"))?;
        let right = found.is_some_and(|row| {
            let state = row.value;
            state.customer_id.is_some() && state.delivered && state.late == pending
        });
        if right {
            count.matching += 1;
        } else {
            count.wrong.push(id.clone());
        }
    }
    Ok(count)
}

fn check(view: &ViewCount, delivery: &DeliveryCount, history: &History) -> anyhow::Result<()> {
    let orders = history.orders.len();
    let mut problems = Vec::new();
    if view.present != orders + 1 {
        problems.push(format!(
            "the rebuilt view holds {} orders, not {} (the history's {orders} and the customer's); missing, the first of them: {:?}",
            view.present,
            orders + 1,
            view.missing.iter().take(5).collect::<Vec<_>>()
        ));
    }
    if view.delivered != orders {
        problems.push(format!(
            "{} of the history's {orders} orders show delivered in the rebuilt view",
            view.delivered
        ));
    }
    if delivery.matching != orders {
        problems.push(format!(
            "delivery's store remembers {} of {orders} orders as the history left them; wrong, the first of them: {:?}",
            delivery.matching,
            delivery.wrong.iter().take(5).collect::<Vec<_>>()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!("THE REBUILD IS WRONG:\n  {}", problems.join("\n  "))
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

fn ms(duration: Duration) -> f64 {
    round(duration.as_secs_f64() * 1e3, 1)
}

fn seconds(duration: Option<Duration>) -> Value {
    duration.map_or(Value::Null, |d| json!(round(d.as_secs_f64(), 2)))
}

fn page_figures(reads: &Reads, over: Duration) -> Value {
    json!({
        "requests": reads.latencies.len(),
        "requests_per_s": round(reads.latencies.len() as f64 / over.as_secs_f64().max(1e-3), 1),
        "p50_ms": ms(percentile(&reads.latencies, 50.0)),
        "p99_ms": ms(percentile(&reads.latencies, 99.0)),
        "max_ms": ms(reads.latencies.iter().max().copied().unwrap_or_default()),
        "failures": reads.failures.len(),
        "first_failures": reads.failures.iter().take(3).collect::<Vec<_>>(),
    })
}

/// Everything one run measured and checked.
struct Measured<'a> {
    options: &'a Options,
    history: &'a History,
    run: &'a RebuildRun,
    baseline: &'a Reads,
    during: &'a Reads,
    /// CPU time each process of the shop spent while the rebuild ran.
    cpu: Vec<(&'static str, Duration)>,
    database_cpu: Option<Duration>,
    /// CPU time every process of the machine spent while the rebuild ran: with the above, what
    /// others took from the cores the rebuild had.
    machine_cpu: Duration,
    view: &'a ViewCount,
    delivery: &'a DeliveryCount,
}

impl Measured<'_> {
    fn figures(&self) -> Value {
        let Self {
            options,
            history,
            run,
            baseline,
            during,
            cpu,
            database_cpu,
            machine_cpu,
            view,
            delivery,
        } = self;
        let reported = run.report();
        let wall = run.wall.as_secs_f64().max(1e-3);
        let events_read = reported.map(|r| r.events);
        let events_per_s = events_read.map(|events| (events as f64 / wall).round());
        let page_p99 = ms(percentile(&during.latencies, 99.0));
        // Phases from the lines' arrival: starting (settings, lock, tables aside), the first read of
        // the history (its last progress line), then the writes aside, catch-ups and switches.
        let began = run.first("Rebuilding the orders view");
        let read = run.last(" - Read ");
        let cpu_by: serde_json::Map<String, Value> = cpu
            .iter()
            .map(|(name, spent)| ((*name).to_owned(), json!(round(spent.as_secs_f64(), 2))))
            .collect();
        json!({
            "mode": "rebuild",
            "store": if options.postgres { "postgres" } else { "sqlite" },
            "broker_storage": if options.durable_broker { "sqlite" } else { "memory" },
            "kafka": options.kafka,
            "partitions": PARTITIONS.parse::<u32>().unwrap_or_default(),
            "orders": history.orders.len(),
            "pending_orders": history.pending(),
            "history": {
                "events_written": history.events,
                "write_s": round(history.took.as_secs_f64(), 2),
                "events_per_s": (history.events as f64 / history.took.as_secs_f64().max(1e-3)).round(),
            },
            "rebuild": {
                "wall_s": round(run.wall.as_secs_f64(), 2),
                "events_read": events_read,
                "orders": reported.map(|r| r.orders),
                "events_per_s": events_per_s,
                "reported_s": reported.map(|r| r.took_s),
                "reported_read_events_per_s": reported.map(|r| r.read_rate),
                "phases_s": {
                    "start": seconds(began),
                    "first_read": seconds(read.zip(began).map(|(r, b)| r.saturating_sub(b))),
                    "write_catch_up_switch": seconds(read.map(|r| run.wall.saturating_sub(r))),
                },
                "topics_read": topics_read(run),
                "cpu_s": round(run.cpu.as_secs_f64(), 2),
                "cpu_share_of_wall": round(run.cpu.as_secs_f64() / wall, 2),
                "peak_rss_mb": round(run.peak_rss_mb, 1),
            },
            "page_before": page_figures(baseline, BASELINE),
            "page_during": page_figures(during, run.wall),
            "cpu_s_during_rebuild": cpu_by,
            "database_cpu_s_during_rebuild": database_cpu.map(|d| round(d.as_secs_f64(), 2)),
        "machine": {
            "cores": std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get),
            "busy_cores_during_rebuild": round(machine_cpu.as_secs_f64() / wall, 2),
            "busy_cpu_s_outside_the_shop": round(
                machine_cpu
                    .saturating_sub(run.cpu + cpu.iter().map(|(_, spent)| *spent).sum::<Duration>())
                    .saturating_sub(database_cpu.unwrap_or_default())
                    .as_secs_f64(),
                2,
            ),
        },
            "view_after": {
                "orders": view.present,
                "expected": history.orders.len() + 1,
                "delivered": view.delivered,
                "delivery_rows_right": delivery.matching,
            },
            "targets": {
                "events_per_s": EVENTS_PER_S_TARGET,
                "page_p99_ms": PAGE_P99_TARGET_MS,
                "events_per_s_met": events_per_s.map(|rate| rate >= EVENTS_PER_S_TARGET),
                "page_p99_met": page_p99 < PAGE_P99_TARGET_MS,
            },
        })
    }
}

pub(crate) fn print_table(result: &Value) {
    let met = |key: &str| match result["targets"][key].as_bool() {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "-",
    };
    let events_target = format!(
        "≥ {} ({})",
        figure(result, &["targets", "events_per_s"]),
        met("events_per_s_met")
    );
    let page_target = format!(
        "< {} ({})",
        figure(result, &["targets", "page_p99_ms"]),
        met("page_p99_met")
    );
    let rows: Vec<(&str, String, String)> = vec![
        (
            "orders in the history",
            figure(result, &["orders"]),
            String::new(),
        ),
        (
            "of which pending (150) on the way",
            figure(result, &["pending_orders"]),
            String::new(),
        ),
        (
            "history: events written / s to write / events/s",
            format!(
                "{} / {} / {}",
                figure(result, &["history", "events_written"]),
                figure(result, &["history", "write_s"]),
                figure(result, &["history", "events_per_s"])
            ),
            String::new(),
        ),
        (
            "rebuild wall time s (rebuild's own)",
            format!(
                "{} ({})",
                figure(result, &["rebuild", "wall_s"]),
                figure(result, &["rebuild", "reported_s"])
            ),
            String::new(),
        ),
        (
            "events read",
            figure(result, &["rebuild", "events_read"]),
            String::new(),
        ),
        (
            "events/s (events read / wall time)",
            figure(result, &["rebuild", "events_per_s"]),
            events_target,
        ),
        (
            "events/s, first read (rebuild's own)",
            figure(result, &["rebuild", "reported_read_events_per_s"]),
            String::new(),
        ),
        (
            "phases s: start / first read / write, catch up, switch",
            format!(
                "{} / {} / {}",
                figure(result, &["rebuild", "phases_s", "start"]),
                figure(result, &["rebuild", "phases_s", "first_read"]),
                figure(result, &["rebuild", "phases_s", "write_catch_up_switch"])
            ),
            String::new(),
        ),
        (
            "GET /orders during: requests / failures",
            format!(
                "{} / {}",
                figure(result, &["page_during", "requests"]),
                figure(result, &["page_during", "failures"])
            ),
            String::new(),
        ),
        (
            "GET /orders during: p50 / p99 / max ms",
            format!(
                "{} / {} / {}",
                figure(result, &["page_during", "p50_ms"]),
                figure(result, &["page_during", "p99_ms"]),
                figure(result, &["page_during", "max_ms"])
            ),
            page_target,
        ),
        (
            "GET /orders before: p50 / p99 / max ms",
            format!(
                "{} / {} / {}",
                figure(result, &["page_before", "p50_ms"]),
                figure(result, &["page_before", "p99_ms"]),
                figure(result, &["page_before", "max_ms"])
            ),
            String::new(),
        ),
        (
            "rebuild: CPU s / share of its wall time / peak RSS MB",
            format!(
                "{} / {} / {}",
                figure(result, &["rebuild", "cpu_s"]),
                figure(result, &["rebuild", "cpu_share_of_wall"]),
                figure(result, &["rebuild", "peak_rss_mb"])
            ),
            String::new(),
        ),
        (
            "CPU s during the rebuild: broker / web app / status / bench (the customer's client)",
            format!(
                "{} / {} / {} / {}",
                figure(result, &["cpu_s_during_rebuild", "broker"]),
                figure(result, &["cpu_s_during_rebuild", "webapp"]),
                figure(result, &["cpu_s_during_rebuild", "status"]),
                figure(result, &["cpu_s_during_rebuild", "bench"])
            ),
            String::new(),
        ),
        (
            "machine during the rebuild: cores busy of cores / CPU s outside the shop",
            format!(
                "{} of {} / {}",
                figure(result, &["machine", "busy_cores_during_rebuild"]),
                figure(result, &["machine", "cores"]),
                figure(result, &["machine", "busy_cpu_s_outside_the_shop"])
            ),
            String::new(),
        ),
        (
            "PostgreSQL CPU s during the rebuild",
            figure(result, &["database_cpu_s_during_rebuild"]),
            String::new(),
        ),
        (
            "view after: orders / expected / delivered; delivery rows right",
            format!(
                "{} / {} / {}; {}",
                figure(result, &["view_after", "orders"]),
                figure(result, &["view_after", "expected"]),
                figure(result, &["view_after", "delivered"]),
                figure(result, &["view_after", "delivery_rows_right"])
            ),
            String::new(),
        ),
    ];
    println!("| measure | figure | target |");
    println!("|---|---|---|");
    for (name, value, target) in rows {
        println!("| {name} | {value} | {target} |");
    }
    if let Some(topics) = result["rebuild"]["topics_read"].as_array() {
        for topic in topics {
            println!(
                "| read to its end by s: {} ({} events) | {} | |",
                figure(topic, &["topic"]).trim_matches('"'),
                figure(topic, &["events"]),
                figure(topic, &["read_by_s"])
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rebuilds_summary() {
        let line = "(rebuild) INFO 19:40:01.123 - Rebuilt in 12.3 s: 706,002 events read (61,234 events/s), 100,001 orders";
        assert_eq!(
            Reported::parse(line),
            Some(Reported {
                took_s: 12.3,
                events: 706_002,
                read_rate: 61_234,
                orders: 100_001,
            })
        );
        assert_eq!(
            Reported::parse("(rebuild) INFO 19:40:00.000 - Read pizza-ordered 1 of 2"),
            None
        );
    }

    #[test]
    fn finds_when_each_topic_was_read() {
        let line = |at: u64, text: &str| {
            (
                Duration::from_secs(at),
                format!("(rebuild) INFO 1 - {text}"),
            )
        };
        let run = RebuildRun {
            wall: Duration::from_secs(5),
            lines: vec![
                line(1, "Read pizza-ordered 10 of 20 · pizza-status 0 of 80"),
                line(2, "Read pizza-ordered 20 of 20 · pizza-status 5 of 80"),
                line(3, "Read pizza-ordered 20 of 20 · pizza-status 80 of 80"),
            ],
            cpu: Duration::ZERO,
            peak_rss_mb: 0.0,
        };
        assert_eq!(
            topics_read(&run),
            json!([
                {"topic": "pizza-ordered", "events": 20, "read_by_s": 2.0},
                {"topic": "pizza-status", "events": 80, "read_by_s": 3.0},
            ])
        );
    }
}
