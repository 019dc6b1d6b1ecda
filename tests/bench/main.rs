//! The shop's benchmark: its own broker, the five real binaries at time_scale 0, and customers
//! over HTTP. Prints one table and one JSON line (record runs in `benchmarks/RESULTS.md`).
//!
//! Usage: bench [--storage memory|sqlite] [--store sqlite|postgres] [--seconds N] [--streams N]
//!              [--customers N] [--history N]
//!              [--poll-ms N] [--kafka key=value]... [--service-env KEY=VALUE]... [--quick] [--follow poll|push]
//!              [--demo-only [--partitions N]] [--metrics on|off] [--contracts on|off]
//!        bench --check-cost
//!        bench --rebuild [--orders N] [--store sqlite|postgres] [--storage memory|sqlite]
//!              [--kafka key=value]... [--service-env KEY=VALUE]...
//!
//! `--rebuild` measures the `rebuild` program instead: a history of N orders (100,000 by default)
//! rebuilt into the view and delivery's store while a customer reads their orders page.

mod bare_broker;
mod contract_cost;
mod demo_config;
mod process_stats;
mod push;
mod rebuild;
mod shop_config;

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use common::domain::events::{now_ms, PizzaOrdered};
use common::domain::status::StatusAt;
use common::domain::wiring::ServiceName;
use pizza_tests::loadgen::{
    closed_loop, paced, percentile, reads, Customer, Follow, OrderRun, ReadRun,
};
use pizza_tests::postgres::Postgres;
use pizza_tests::{Broker, Service, Shop};
use serde_json::{json, Value};

use process_stats::{cpu_time, private_dirty_mb, resident_mb, tree_cpu_time};

const LIGHT_RATE: f64 = 10.0;
const LIGHT_SECONDS: u64 = 10;
const READ_CONNECTIONS: usize = 16;
const READ_SECONDS: u64 = 5;

struct Args {
    sqlite: bool,
    /// Whether `--storage` was given (the demo's sweep keeps the shipped storage otherwise).
    storage_given: bool,
    /// The shop's state stores on a PostgreSQL server instead of SQLite files.
    postgres: bool,
    /// Streams held open on the web app at once.
    streams: usize,
    seconds: u64,
    customers: usize,
    history: usize,
    poll: Duration,
    /// Extra `key = value` lines for the `[kafka]` section, to try client settings.
    kafka: Vec<String>,
    /// Environment variables for the services, e.g. `TOKIO_WORKER_THREADS=1`, to try runtime
    /// settings.
    service_env: Vec<(String, String)>,
    /// Only the shop's own figures: no demo configuration, no bare broker, no push.
    quick: bool,
    /// Peak customers follow their orders by push (the order's event stream) instead of polling.
    push: bool,
    /// Only the demo's configuration, changed by `--storage`, `--kafka` and `--partitions`: one
    /// point of a sweep of its settings.
    demo_only: bool,
    partitions: Option<u32>,
    /// Whether the services serve metrics (and are scraped every few seconds during the peak,
    /// as Prometheus would), to measure what the metrics cost.
    metrics: bool,
    /// Only the rebuild's measurement (`rebuild.rs`), on a history of `orders` orders.
    rebuild: bool,
    orders: usize,
    /// Whether the broker enforces the contracts in `schemas/` (off: what the registry costs).
    contracts: bool,
    /// Only the cost of the services' own contract checks (`contract_cost.rs`).
    check_cost: bool,
}

/// The services' extra environment, as given on the command line.
static SERVICE_ENV: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        sqlite: false,
        storage_given: false,
        postgres: false,
        streams: 10_000,
        seconds: 20,
        customers: 256,
        history: 100_000,
        poll: Duration::from_millis(50),
        kafka: Vec::new(),
        service_env: Vec::new(),
        quick: false,
        push: false,
        demo_only: false,
        partitions: None,
        metrics: true,
        rebuild: false,
        orders: 100_000,
        contracts: true,
        check_cost: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || {
            given
                .next()
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--storage" => {
                args.storage_given = true;
                match value()?.as_str() {
                    "memory" => args.sqlite = false,
                    "sqlite" => args.sqlite = true,
                    other => bail!("--storage is memory or sqlite, not {other}"),
                }
            }
            "--store" => match value()?.as_str() {
                "sqlite" => args.postgres = false,
                "postgres" => args.postgres = true,
                other => bail!("--store is sqlite or postgres, not {other}"),
            },
            "--seconds" => args.seconds = value()?.parse().context("--seconds")?,
            "--streams" => args.streams = value()?.parse().context("--streams")?,
            "--customers" => args.customers = value()?.parse().context("--customers")?,
            "--history" => args.history = value()?.parse().context("--history")?,
            "--poll-ms" => {
                args.poll = Duration::from_millis(value()?.parse().context("--poll-ms")?)
            }
            "--kafka" => args.kafka.push(value()?.replacen('=', " = ", 1)),
            "--quick" => args.quick = true,
            "--demo-only" => args.demo_only = true,
            "--partitions" => {
                args.partitions = Some(value()?.parse().context("--partitions")?);
            }
            "--follow" => match value()?.as_str() {
                "poll" => args.push = false,
                "push" => args.push = true,
                other => bail!("--follow is poll or push, not {other}"),
            },
            "--rebuild" => args.rebuild = true,
            "--check-cost" => args.check_cost = true,
            "--contracts" => match value()?.as_str() {
                "on" => args.contracts = true,
                "off" => args.contracts = false,
                other => bail!("--contracts is on or off, not {other}"),
            },
            "--orders" => args.orders = value()?.parse().context("--orders")?,
            "--metrics" => match value()?.as_str() {
                "on" => args.metrics = true,
                "off" => args.metrics = false,
                other => bail!("--metrics is on or off, not {other}"),
            },
            "--service-env" => {
                let given = value()?;
                let (key, val) = given
                    .split_once('=')
                    .context("--service-env takes KEY=VALUE")?;
                args.service_env.push((key.to_owned(), val.to_owned()));
            }
            other => bail!(
                "unknown argument {other}\nusage: bench [--storage memory|sqlite] [--store sqlite|postgres] [--seconds N] [--streams N] \
                 [--customers N] [--history N] [--poll-ms N] [--kafka key=value]... [--service-env KEY=VALUE]... [--quick] [--follow poll|push] \
                 [--demo-only [--partitions N]] [--metrics on|off] [--contracts on|off]\n       bench --check-cost\n       bench --rebuild [--orders N] [--store sqlite|postgres] \
                 [--storage memory|sqlite] [--kafka key=value]... [--service-env KEY=VALUE]..."
            ),
        }
    }
    Ok(args)
}

/// The five services, started together; each is ready once it holds partitions (the web app:
/// once it listens). Returns them with their launch-to-ready times.
async fn launch(shop: &Shop) -> anyhow::Result<Vec<(Service, Duration)>> {
    // Builds the binaries if needed, before the clock starts.
    let _ = pizza_tests::binaries::binary("status");
    let started = Instant::now();
    let env: Vec<(&str, &str)> = SERVICE_ENV
        .get()
        .map(|env| env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .unwrap_or_default();
    let services: Vec<Service> = ServiceName::ALL
        .iter()
        .map(|s| shop.start_with(*s, ".", &env))
        .collect();
    let mut ready: Vec<Option<Duration>> = vec![None; services.len()];
    while ready.iter().any(Option::is_none) {
        // Each service's log holds only what this launch wrote.
        for (service, ready) in services.iter().zip(&mut ready) {
            let marker = if service.name == ServiceName::Webapp {
                "Web app listening"
            } else {
                "Partitions assigned: pizza"
            };
            if ready.is_none() && service.log().contains(marker) {
                *ready = Some(started.elapsed());
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("services not ready after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(services
        .into_iter()
        .zip(ready.into_iter().flatten())
        .collect())
}

fn cpu_by_service(services: &[(Service, Duration)]) -> Vec<Duration> {
    services.iter().map(|(s, _)| cpu_time(s.pid())).collect()
}

fn rss(services: &[(Service, Duration)]) -> Vec<(String, f64)> {
    memory(services, resident_mb)
}

fn memory(services: &[(Service, Duration)], of: fn(u32) -> f64) -> Vec<(String, f64)> {
    services
        .iter()
        .map(|(s, _)| (s.name.to_string(), of(s.pid())))
        .collect()
}

/// 10 orders a second, each watched every millisecond, for the latency of a quiet shop.
async fn light_load(base: &str) -> OrderRun {
    paced(
        base,
        LIGHT_RATE,
        Duration::from_secs(LIGHT_SECONDS),
        Duration::from_millis(1),
    )
    .await
}

/// Each service's launch-to-ready time in seconds, by name.
fn ready_seconds(services: &[(Service, Duration)]) -> Value {
    services
        .iter()
        .map(|(s, t)| {
            let seconds = (t.as_secs_f64() * 1000.0).round() / 1000.0;
            (s.name.to_string(), json!(seconds))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

fn order_figures(run: &OrderRun) -> Value {
    json!({
        "delivered": run.delivered(),
        "orders_per_s": (run.per_second() * 10.0).round() / 10.0,
        "post_p50_ms": ms(percentile(&run.post_latencies, 50.0)),
        "post_p99_ms": ms(percentile(&run.post_latencies, 99.0)),
        "delivered_p50_ms": ms(percentile(&run.delivered_latencies, 50.0)),
        "delivered_p99_ms": ms(percentile(&run.delivered_latencies, 99.0)),
        "failures": run.failures.len(),
        "unfinished": run.unfinished.len(),
    })
}

fn read_figures(run: &ReadRun) -> Value {
    json!({
        "requests_per_s": run.per_second().round(),
        "p50_ms": ms(percentile(&run.latencies, 50.0)),
        "p99_ms": ms(percentile(&run.latencies, 99.0)),
        "failures": run.failures.len(),
    })
}

/// One customer with one delivered order, for the read measurements.
async fn reader(base: &str) -> anyhow::Result<(Customer, String)> {
    let customer = Customer::login(base, "Reader")
        .await
        .map_err(|f| anyhow::anyhow!("login: {f:?}"))?;
    let order_id = customer
        .order()
        .await
        .map_err(|f| anyhow::anyhow!("order: {f:?}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while customer.status(&order_id).await.ok() != Some(999) {
        if Instant::now() > deadline {
            bail!("the reader's order never arrived");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok((customer, order_id))
}

async fn read_all(customer: &Customer, order_id: &str) -> Value {
    let window = Duration::from_secs(READ_SECONDS);
    let json = reads(
        customer,
        &format!("/api/orders/{order_id}"),
        READ_CONNECTIONS,
        window,
    )
    .await;
    let page = reads(
        customer,
        &format!("/orders/{order_id}"),
        READ_CONNECTIONS,
        window,
    )
    .await;
    let list = reads(customer, "/orders", READ_CONNECTIONS, window).await;
    json!({
        "api_order": read_figures(&json),
        "order_page": read_figures(&page),
        "orders_list": read_figures(&list),
    })
}

/// Average time of the watchdog's stuck-order query.
async fn stuck_query_ms(shop: &Shop) -> f64 {
    let runs = 200;
    let started = Instant::now();
    for _ in 0..runs {
        // An hour back: the query runs in full but flags nothing.
        let _ = shop.orders.flag_stuck(now_ms() - 3_600_000, 50).await;
    }
    ms(started.elapsed() / runs)
}

/// `count` delivered orders of other customers from the last days.
async fn fill_history(shop: &Shop, count: usize, reader_order: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let store = &shop.orders;
    let reader_id = store
        .get_order(reader_order)
        .await?
        .context("the reader's order")?
        .details
        .customer_id;
    let now = now_ms();
    let mut delivered = Vec::new();
    for n in 0..count {
        let mut order = pizza_tests::shop::order_details(&format!("{n:08x}"));
        // The reader's list stays one order long, so its cost is compared like for like.
        if order.customer_id == reader_id {
            order.customer_id = format!("{n:032x}");
        }
        let timestamp = now - 3_600_000 - (n as i64 * 1_000);
        let placed = PizzaOrdered {
            status: 100,
            timestamp,
            order,
        };
        let order_id = format!("h{n:07x}");
        store.add_order(&order_id, &placed, timestamp).await?;
        // Delivered, as old orders are: no longer watched.
        let at = StatusAt {
            status: 999,
            timestamp: timestamp + 1,
        };
        delivered.push((order_id, at));
        if delivered.len() == 1_000 || n + 1 == count {
            store
                .update_statuses(std::mem::take(&mut delivered), timestamp)
                .await?;
        }
    }
    Ok(started.elapsed())
}

/// The figure at `path` in a run's JSON, as the tables print it ("-" when there is none).
pub(crate) fn figure(value: &Value, path: &[&str]) -> String {
    let mut at = value;
    for key in path {
        at = &at[*key];
    }
    match at {
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn print_table(result: &Value) {
    let rows: &[(&str, &[&str])] = &[
        ("orders/s end to end (peak)", &["peak", "orders_per_s"]),
        (
            "orders/s, bare broker (same events, no services)",
            &["bare_broker", "orders_per_s"],
        ),
        (
            "peak as a share of the bare broker",
            &["peak_to_bare_broker"],
        ),
        (
            "demo config: idle CPU % of a core, broker + services",
            &["demo_config", "idle_cpu_percent_total"],
        ),
        (
            "demo config: order to delivered p50 ms",
            &["demo_config", "orders", "delivered_p50_ms"],
        ),
        ("POST / p50 ms (peak)", &["peak", "post_p50_ms"]),
        ("POST / p99 ms (peak)", &["peak", "post_p99_ms"]),
        (
            "order to delivered p50 ms (peak)",
            &["peak", "delivered_p50_ms"],
        ),
        (
            "order to delivered p99 ms (peak)",
            &["peak", "delivered_p99_ms"],
        ),
        (
            "order to delivered p50 ms (10/s)",
            &["light", "delivered_p50_ms"],
        ),
        (
            "order to delivered p99 ms (10/s)",
            &["light", "delivered_p99_ms"],
        ),
        (
            "GET /api/orders/<id> req/s",
            &["reads", "api_order", "requests_per_s"],
        ),
        (
            "GET /api/orders/<id> p99 ms",
            &["reads", "api_order", "p99_ms"],
        ),
        (
            "GET /orders/<id> req/s",
            &["reads", "order_page", "requests_per_s"],
        ),
        (
            "GET /orders/<id> p99 ms",
            &["reads", "order_page", "p99_ms"],
        ),
        (
            "GET /orders req/s",
            &["reads", "orders_list", "requests_per_s"],
        ),
        ("service CPU s per 1,000 orders", &["cpu_s_per_1000_orders"]),
        (
            "broker CPU s per 1,000 orders",
            &["broker_cpu_s_per_1000_orders"],
        ),
        (
            "PostgreSQL CPU s per 1,000 orders",
            &["database_cpu_s_per_1000_orders"],
        ),
        (
            "idle CPU % of a core, five services",
            &["idle_cpu_percent_services"],
        ),
        ("idle CPU % of a core, broker", &["idle_cpu_percent_broker"]),
        ("RSS MB, five services idle", &["rss_idle_total_mb"]),
        (
            "private dirty MB, five services idle",
            &["private_dirty_idle_total_mb"],
        ),
        ("RSS MB, five services at peak", &["rss_peak_total_mb"]),
        ("stuck query ms", &["stuck_query_ms"]),
        (
            "status event to pushed event p50 ms (10/s)",
            &["push", "latency", "p50_ms"],
        ),
        (
            "status event to pushed event p99 ms (10/s)",
            &["push", "latency", "p99_ms"],
        ),
        (
            "streams held open on the web app",
            &["push", "streams", "streams_open"],
        ),
        (
            "web app RSS MB with the streams open",
            &["push", "streams", "rss_mb_open"],
        ),
        (
            "web app RSS MB with the streams, orders flowing",
            &["push", "streams", "rss_mb_flowing"],
        ),
        (
            "web app CPU % with the streams, idle",
            &["push", "streams", "cpu_percent_open_idle"],
        ),
        (
            "web app CPU % with the streams, orders flowing",
            &["push", "streams", "cpu_percent_flowing"],
        ),
        (
            "events pushed to the streams",
            &["push", "streams", "events_pushed"],
        ),
        ("failures / unfinished (peak)", &["peak", "failures"]),
    ];
    let history = &result["history"];
    println!(
        "| measure | fresh | with {} old orders |",
        figure(history, &["orders"])
    );
    println!("|---|---|---|");
    for (name, path) in rows {
        println!(
            "| {name} | {} | {} |",
            figure(result, path),
            figure(history, path)
        );
    }
    for service in ServiceName::ALL.map(ServiceName::as_str) {
        println!(
            "| {service}: ready s / CPU s per 1,000 / RSS idle MB / RSS peak MB | {} / {} / {} / {} | {} / - / - / - |",
            figure(result, &["ready_s", service]),
            figure(result, &["cpu_s_per_1000_orders_by_service", service]),
            figure(result, &["rss_idle_mb", service]),
            figure(result, &["rss_peak_mb", service]),
            figure(history, &["ready_s", service]),
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let _ = SERVICE_ENV.set(args.service_env.clone());
    if args.check_cost {
        println!("{}", contract_cost::measure()?);
        return Ok(());
    }
    if args.rebuild {
        let options = rebuild::Options {
            orders: args.orders,
            postgres: args.postgres,
            durable_broker: args.sqlite,
            kafka: args.kafka.clone(),
            service_env: args.service_env.clone(),
        };
        let (result, checked) = rebuild::measure(&options).await?;
        rebuild::print_table(&result);
        println!("{result}");
        // The figures are out; a rebuild that left the stores wrong still fails the run.
        return checked;
    }
    if args.demo_only {
        let changes = demo_config::Changes {
            sqlite: args.storage_given.then_some(args.sqlite),
            kafka: args.kafka.clone(),
            partitions: args.partitions,
        };
        eprintln!("The demo's configuration with {changes:?}: idle for 20 s, then 2 orders/s...");
        println!("{}", demo_config::measure(&changes).await?);
        return Ok(());
    }
    let demo = if args.quick {
        Value::Null
    } else {
        eprintln!("The demo's own configuration: idle for 20 s, then 2 orders/s...");
        demo_config::measure(&demo_config::Changes::default()).await?
    };
    let broker = match (args.sqlite, args.contracts) {
        (true, true) => Broker::start_durable(),
        (true, false) => bail!("--contracts off needs the memory storage"),
        (false, true) => Broker::start(),
        (false, false) => Broker::start_without_contracts(),
    };
    // A fixed port, so the web app keeps its address when the services are restarted below.
    let bind = format!("127.0.0.1:{}", pizza_tests::broker::unused_port());
    let base = format!("http://{bind}");
    // The shipped topic and watchdog settings, at time_scale 0.
    let kafka = shop_config::kafka_ini(&broker, &args.kafka);
    let mut settings = vec![
        ("webapp", "bind", bind.as_str()),
        ("kafka-topic-config", "num_partitions", "6"),
    ];
    settings.extend(shop_config::SHIPPED_WATCHDOG);
    if !args.metrics {
        for service in ServiceName::ALL {
            settings.push(("metrics", service.as_str(), "off"));
        }
    }
    let postgres = args.postgres.then(Postgres::start);
    let database = postgres.as_ref().map(|server| server.database("bench"));
    if let Some(url) = &database {
        shop_config::stores_on_postgres(&mut settings, url);
    }
    let shop = Shop::open_with_kafka(&kafka, &settings).await;

    let bare = if args.quick {
        Value::Null
    } else {
        eprintln!(
            "Bare broker: the same events relayed without the services, {} in flight for {} s...",
            args.customers, args.seconds
        );
        bare_broker::measure(&shop.kafka, 6, args.customers, args.seconds).await?
    };

    eprintln!("Starting the five services...");
    let services = launch(&shop).await?;
    let idle_services = cpu_by_service(&services);
    let idle_broker = cpu_time(broker.pid());
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Idle cost: what the services and the broker burn with no orders at all, in % of a core.
    let idle_percent = |before: Duration, after: Duration| {
        (after.saturating_sub(before).as_secs_f64() / 5.0 * 1000.0).round() / 10.0
    };
    let idle_cpu_services = idle_percent(
        idle_services.iter().sum(),
        cpu_by_service(&services).iter().sum(),
    );
    let idle_cpu_broker = idle_percent(idle_broker, cpu_time(broker.pid()));
    let idle = rss(&services);
    let idle_private = memory(&services, private_dirty_mb);

    eprintln!("Light load: {LIGHT_RATE} orders/s for {LIGHT_SECONDS} s...");
    let light = light_load(&base).await;

    eprintln!(
        "Peak: {} customers for {} s...",
        args.customers, args.seconds
    );
    let cpu_before = cpu_by_service(&services);
    let broker_before = cpu_time(broker.pid());
    let database_cpu = || {
        postgres
            .as_ref()
            .and_then(Postgres::server_pid)
            .map_or(Duration::ZERO, tree_cpu_time)
    };
    let database_before = database_cpu();
    let peak_run = closed_loop(
        &base,
        args.customers,
        Duration::from_secs(args.seconds),
        if args.push {
            Follow::Push
        } else {
            Follow::Poll(args.poll)
        },
    );
    let sampler = async {
        let mut highest: Vec<(String, f64)> = rss(&services);
        let until = Instant::now() + Duration::from_secs(args.seconds);
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(500)).await;
            for ((_, high), (_, now)) in highest.iter_mut().zip(rss(&services)) {
                *high = high.max(now);
            }
        }
        highest
    };
    let scrapes = if args.metrics {
        let mut urls = Vec::new();
        for (service, _) in &services {
            urls.push(service.metrics_url().await);
        }
        urls
    } else {
        Vec::new()
    };
    // Every 5 s, three times as often as Prometheus's default, so the cost is not understated.
    let scraper = async {
        let until = Instant::now() + Duration::from_secs(args.seconds);
        let mut scraped = 0usize;
        while !scrapes.is_empty() && Instant::now() < until {
            for url in &scrapes {
                if reqwest::get(url)
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    scraped += 1;
                }
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        scraped
    };
    let (peak, at_peak, scraped) = tokio::join!(peak_run, sampler, scraper);
    let cpu: Vec<Duration> = cpu_by_service(&services)
        .into_iter()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before))
        .collect();
    let broker_cpu = cpu_time(broker.pid()).saturating_sub(broker_before);
    let database_spent = database_cpu().saturating_sub(database_before);
    let per_1000 = |spent: Duration| {
        (spent.as_secs_f64() / peak.delivered().max(1) as f64 * 1e6).round() / 1e3
    };
    let cpu_by: Value = services
        .iter()
        .zip(&cpu)
        .map(|((s, _), spent)| (s.name.to_string(), json!(per_1000(*spent))))
        .collect::<serde_json::Map<_, _>>()
        .into();

    eprintln!("Reads: {READ_CONNECTIONS} connections, {READ_SECONDS} s per page...");
    let (customer, order_id) = reader(&base).await?;
    let reads_fresh = read_all(&customer, &order_id).await;
    let stuck_fresh = stuck_query_ms(&shop).await;
    // In --quick too: it takes a dozen seconds, and it is one of the figures the quick run is for.
    eprintln!("Push: status event to a pushed event, at 10 orders/s...");
    let push_latency = push::latency(&base, &shop.kafka, &shop.sys.topics.status).await;
    let webapp_pid = services
        .iter()
        .find(|(s, _)| s.name == ServiceName::Webapp)
        .map_or(0, |(s, _)| s.pid());
    let crowd = (args.streams / 10).max(1);
    let push_streams = if args.quick {
        Value::Null
    } else {
        eprintln!("Push: {} open streams while orders flow...", args.streams);
        push::many_streams(&base, webapp_pid, args.streams, crowd).await
    };
    let ready = ready_seconds(&services);
    let sum =
        |list: &[(String, f64)]| (list.iter().map(|(_, mb)| mb).sum::<f64>() * 10.0).round() / 10.0;
    let per_service = |list: &[(String, f64)]| -> Value {
        list.iter()
            .map(|(name, mb)| (name.clone(), json!((mb * 10.0).round() / 10.0)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let mut result = json!({
        "storage": if args.sqlite { "sqlite" } else { "memory" },
        "store": if args.postgres { "postgres" } else { "sqlite" },
        "customers": args.customers,
        "seconds": args.seconds,
        "poll_ms": args.poll.as_millis() as u64,
        "follow": if args.push { "push" } else { "poll" },
        "kafka": args.kafka,
        "metrics": if args.metrics { json!({"scrapes": scraped}) } else { json!("off") },
        "service_env": args.service_env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "light": order_figures(&light),
        "peak": order_figures(&peak),
        "bare_broker": bare,
        "peak_to_bare_broker": bare["orders_per_s"]
            .as_f64()
            .filter(|bare| *bare > 0.0)
            .map(|bare| (peak.per_second() / bare * 100.0).round() / 100.0),
        "demo_config": demo,
        "cpu_s_per_1000_orders": per_1000(cpu.iter().sum()),
        "cpu_s_per_1000_orders_by_service": cpu_by,
        "broker_cpu_s_per_1000_orders": per_1000(broker_cpu),
        "database_cpu_s_per_1000_orders": args.postgres.then(|| per_1000(database_spent)),
        "idle_cpu_percent_services": idle_cpu_services,
        "idle_cpu_percent_broker": idle_cpu_broker,
        "rss_idle_mb": per_service(&idle),
        "rss_idle_total_mb": sum(&idle),
        "private_dirty_idle_total_mb": sum(&idle_private),
        "rss_peak_mb": per_service(&at_peak),
        "rss_peak_total_mb": sum(&at_peak),
        "ready_s": ready,
        "reads": reads_fresh,
        "stuck_query_ms": stuck_fresh,
        "push": {"latency": push_latency, "streams": push_streams},
    });

    if args.history > 0 {
        for (mut service, _) in services {
            service.terminate();
        }
        eprintln!("Adding {} old orders to orders.db...", args.history);
        let filled = fill_history(&shop, args.history, &order_id).await?;
        let services = launch(&shop).await?;
        eprintln!("Light load and reads again, with history...");
        let light = light_load(&base).await;
        let reads_history = read_all(&customer, &order_id).await;
        let ready = ready_seconds(&services);
        result["history"] = json!({
            "orders": args.history,
            "fill_s": (filled.as_secs_f64() * 10.0).round() / 10.0,
            "light": order_figures(&light),
            "reads": reads_history,
            "stuck_query_ms": stuck_query_ms(&shop).await,
            "ready_s": ready,
        });
    }

    print_table(&result);
    println!("{result}");
    Ok(())
}
