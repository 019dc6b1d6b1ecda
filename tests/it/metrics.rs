//! Every kitchen service's metrics, read the way an operator reads them: a real Prometheus server
//! scrapes each `/metrics` every second, and its query API must agree with what the test sent:
//! events consumed and sent per topic, handling outcomes, dead letters by reason, and the lag of
//! every group (the broker's view, reported by the status service, and each member's own) back to
//! zero once all is handled; and a stopped service's backlog, growing while it is down.

use std::time::Duration;

use common::domain::wiring::ServiceName;
use pizza_tests::loadgen::Customer;
use pizza_tests::prometheus::Prometheus;
use pizza_tests::shop::{ids, order_details, STUCK_AFTER_3_S};
use pizza_tests::{Broker, Shop};
use rdkafka::producer::{FutureProducer, FutureRecord};

const PATIENCE: Duration = Duration::from_secs(60);
/// Counters are scraped every second; lag also waits for a commit (librdkafka commits stored
/// offsets every 5 s) and the member's own view for its statistics (every 10 s).
const SETTLED: Duration = Duration::from_secs(45);
const ORDERS: usize = 12;

/// `promql` reaches `expected` and keeps it through the next scrapes (see
/// `Prometheus::wait_for_value`).
async fn expect(prometheus: &Prometheus, promql: &str, expected: f64) {
    if let Err(problem) = prometheus.wait_for_value(promql, expected, SETTLED).await {
        panic!("{problem}");
    }
}

/// Each query reaches its value, and all of them still hold after the same next scrapes.
async fn expect_all(prometheus: &Prometheus, expected: Vec<(String, f64)>) {
    if let Err(problem) = prometheus.wait_for_values(&expected, SETTLED).await {
        panic!("{problem}");
    }
}

fn consumed(job: &str, topic: &str) -> String {
    format!(
        "sum(messaging_client_consumed_messages_total{{job=\"{job}\",messaging_destination_name=\"{topic}\"}})"
    )
}

fn sent(job: &str, topic: &str) -> String {
    format!(
        "sum(messaging_client_sent_messages_total{{job=\"{job}\",messaging_destination_name=\"{topic}\"}})"
    )
}

fn handled(job: &str, topic: &str) -> String {
    format!(
        "sum(messaging_process_duration_seconds_count{{job=\"{job}\",messaging_destination_name=\"{topic}\",outcome=\"handled\"}})"
    )
}

/// What the status service reports of `group` (on `topic`, or on all it reads): its partitions,
/// the events waiting on them, and its members.
async fn expect_backlog(
    prometheus: &Prometheus,
    group: &str,
    topic: Option<&str>,
    partitions: f64,
    waiting: f64,
    members: f64,
) {
    let group_only = format!("{{job=\"status\",consumergroup=\"{group}\"}}");
    let of = match topic {
        Some(topic) => format!("{{job=\"status\",consumergroup=\"{group}\",topic=\"{topic}\"}}"),
        None => group_only.clone(),
    };
    expect_all(
        prometheus,
        vec![
            (format!("count(kafka_consumergroup_lag{of})"), partitions),
            (format!("sum(kafka_consumergroup_lag{of})"), waiting),
            (format!("sum(kafka_consumergroup_lag_sum{of})"), waiting),
            (
                format!("sum(kafka_consumergroup_members{group_only})"),
                members,
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_sees_what_each_service_consumed_sent_dead_lettered_and_left_behind() {
    // The poison below must reach the topics: a cluster that checks no contract.
    let broker = Broker::start_without_contracts();
    // An order without progress for 3 s is stuck: the orders waiting for a stopped oven are.
    let shop = Shop::open(&broker, &[STUCK_AFTER_3_S]).await;
    let mut services = shop.start_pipeline();
    let mut targets = Vec::new();
    for service in &services {
        targets.push((service.name.as_str(), service.metrics_url().await));
    }
    let jobs: Vec<(&str, &str)> = targets.iter().map(|(j, u)| (*j, u.as_str())).collect();
    let prometheus = Prometheus::start(&jobs).await;
    expect(&prometheus, "sum(up)", 4.0).await;

    let producer = shop.producer().await;
    let orders = ids("3e7c", ORDERS);
    for id in &orders {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&orders, 999, PATIENCE).await;

    let n = ORDERS as f64;
    let topics = &shop.sys.topics;
    let (ordered, assembled, baked) = (&topics.ordered, &topics.assembled, &topics.baked);
    let (delivered, status) = (&topics.delivered, &topics.status);
    let counts = vec![
        (consumed("assemble", ordered), n),
        (handled("assemble", ordered), n),
        (sent("assemble", assembled), n),
        (sent("assemble", status), n),
        (consumed("bake", assembled), n),
        (handled("bake", assembled), n),
        (sent("bake", baked), n),
        (sent("bake", status), n),
        (consumed("delivery", ordered), n),
        (consumed("delivery", baked), n),
        (sent("delivery", delivered), n),
        (sent("delivery", status), n),
        // 100 from the order's placing, then 200, 300 and 999 from the kitchen.
        (consumed("status", status), 4.0 * n),
        (handled("status", status), 4.0 * n),
    ];
    expect_all(&prometheus, counts).await;

    // The broker's view, as kafka_exporter names it, from the status service for every group:
    // every partition of every topic each group reads, its end where the events are, and
    // nothing left to handle.
    let mut members_views = Vec::new();
    for (job, group, partitions) in [
        ("assemble", "pizza_assemble", 2.0),
        ("bake", "pizza_bake", 2.0),
        ("delivery", "pizza_delivery", 4.0),
        ("status", "pizza_status", 2.0),
    ] {
        expect_backlog(&prometheus, group, None, partitions, 0.0, 1.0).await;
        // The member's own view, from librdkafka's statistics.
        members_views.extend([
            (
                format!("sum(librdkafka_consumer_assigned_partitions{{job=\"{job}\"}})"),
                partitions,
            ),
            (
                format!("sum(librdkafka_consumer_lag_stored{{job=\"{job}\"}})"),
                0.0,
            ),
            (format!("sum(pizza_events_in_flight{{job=\"{job}\"}})"), 0.0),
        ]);
    }
    members_views.extend([
        (
            format!(
                "sum(kafka_topic_partition_current_offset{{job=\"status\",topic=\"{ordered}\"}})"
            ),
            n,
        ),
        (
            format!(
                "sum(kafka_topic_partition_current_offset{{job=\"status\",topic=\"{status}\"}})"
            ),
            4.0 * n,
        ),
    ]);
    expect_all(&prometheus, members_views).await;

    // Poison: a value that is not JSON on the oven's input, and an order with no key at all.
    let bad = producer
        .producer()
        .enqueue(assembled, b"bad0f00d", b"{not json", None)
        .expect("enqueued");
    common::kafka::acknowledged(assembled, bad)
        .await
        .expect("poison sent");
    let raw: FutureProducer = common::kafka::producer_config(&shop.kafka, "pizza-tests-raw")
        .create()
        .expect("raw producer");
    let value = serde_json::to_vec(&order_details("keyless")).expect("json");
    raw.send(
        FutureRecord::<(), _>::to(ordered).payload(&value),
        Duration::from_secs(10),
    )
    .await
    .map_err(|(e, _)| e)
    .expect("keyless event sent");
    let dead = &topics.dead_letter;
    let mut dead_letters = Vec::new();
    for (job, topic, reason) in [
        ("bake", assembled, "bad_value"),
        ("assemble", ordered, "missing_key"),
        ("delivery", ordered, "missing_key"),
    ] {
        dead_letters.extend([
            (
                format!(
                    "sum(pizza_dead_letters_total{{job=\"{job}\",messaging_destination_name=\"{topic}\",reason=\"{reason}\"}})"
                ),
                1.0,
            ),
            (
                format!("sum(pizza_dead_letters_total{{job=\"{job}\"}})"),
                1.0,
            ),
            (
                format!(
                    "sum(messaging_process_duration_seconds_count{{job=\"{job}\",outcome=\"dead_lettered\"}})"
                ),
                1.0,
            ),
            (sent(job, dead), 1.0),
            // The shop's rule sees it: the counter started at 0, so its first increase counts.
            (
                format!(
                    "count(ALERTS{{alertname=\"PizzaEventsDeadLettered\",alertstate=\"firing\",job=\"{job}\",messaging_destination_name=\"{topic}\",reason=\"{reason}\"}})"
                ),
                1.0,
            ),
        ]);
    }
    dead_letters.push((consumed("bake", assembled), n + 1.0));
    expect_all(&prometheus, dead_letters).await;

    // No order, customer or free text ever becomes a label.
    for (job, url) in &targets {
        let page = reqwest::get(url.as_str())
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|e| panic!("{job}'s metrics: {e}"))
            .text()
            .await
            .expect("a page");
        for id in orders
            .iter()
            .map(String::as_str)
            .chain(["bad0f00d", "keyless"])
        {
            assert!(
                !page.contains(id),
                "{job}'s metrics name order {id}:\n{page}"
            );
            let customer = order_details(id).customer_id;
            assert!(!page.contains(&customer), "{job}'s metrics name a customer");
        }
        assert!(
            !page.contains("not json") && !page.contains("expected"),
            "{page}"
        );
    }

    // A stopped service reports nothing itself, yet its backlog is what an operator must see:
    // the oven goes, orders keep coming, they wait for it, and drain when it is back. Every
    // order so far is delivered and so no longer watched: the watchdog can flag only the orders
    // that come now (a slow machine may have kept one of the earlier ones 3 s without progress,
    // and flagged it then).
    let flagged = "sum(pizza_orders_flagged_stuck_total{job=\"status\"})";
    let flagged_before = prometheus
        .value_now(flagged)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bake = services
        .iter_mut()
        .find(|s| s.name == ServiceName::Bake)
        .expect("bake runs");
    let (exit, _) = bake.stop().await;
    assert!(exit.success(), "bake exits 0 on SIGTERM: {exit:?}");
    let later = ids("5a1e", ORDERS);
    for id in &later {
        shop.place_order(&producer, id).await;
    }
    expect_backlog(&prometheus, "pizza_bake", Some(assembled), 2.0, n, 0.0).await;
    // The shop's rule notices (pending for its first minute, then firing), and only for bake.
    let without_members = "ALERTS{alertname=\"PizzaGroupWithoutMembers\"}";
    expect(
        &prometheus,
        &format!("count({without_members}) or vector(0)"),
        1.0,
    )
    .await;
    expect(
        &prometheus,
        "count(ALERTS{alertname=\"PizzaGroupWithoutMembers\",consumergroup=\"pizza_bake\"})",
        1.0,
    )
    .await;
    // The watchdog flags each of them, once.
    expect(&prometheus, flagged, flagged_before + n).await;
    expect(
        &prometheus,
        "count(ALERTS{alertname=\"PizzaOrdersStuck\",alertstate=\"firing\"})",
        1.0,
    )
    .await;
    let _bake = shop.start(ServiceName::Bake);
    shop.wait_for_all(&later, 999, PATIENCE).await;
    expect_backlog(&prometheus, "pizza_bake", Some(assembled), 2.0, 0.0, 1.0).await;
    expect(
        &prometheus,
        &format!("count({without_members}) or vector(0)"),
        0.0,
    )
    .await;
}

/// A second instance on the same host finds its configured metrics address taken: it says so once
/// and serves on a port the system chooses, and handles orders all the same.
#[tokio::test(flavor = "multi_thread")]
async fn a_taken_metrics_address_moves_the_listener_not_the_service() {
    let broker = Broker::start();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to hold");
    let taken = holder.local_addr().expect("its address").to_string();
    let shop = Shop::open(&broker, &[("metrics", "assemble", &taken)]).await;
    let assemble = shop.start(common::domain::wiring::ServiceName::Assemble);
    let url = assemble.metrics_url().await;
    assert!(
        !url.contains(&taken),
        "the taken address is not the one served: {url}"
    );
    let log = assemble.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("WARNING") && l.contains(&format!("Metrics address {taken} is taken"))
        })
        .collect();
    assert_eq!(warnings.len(), 1, "one warning:\n{log}");
    let producer = shop.producer().await;
    shop.place_order(&producer, "7a4e0001").await;
    assemble
        .wait_for_log("Order '7a4e0001' is assembled!", PATIENCE)
        .await;
    // Read once the order is handled: a topic's series exist from the moment its consumer
    // starts, which may come after the listener is up.
    let page = reqwest::get(&url)
        .await
        .expect("served")
        .text()
        .await
        .expect("a page");
    assert!(
        page.contains("pizza_events_in_flight{messaging_destination_name=\"pizza-ordered\"}"),
        "{page}"
    );
}

fn requests(route: &str, status: u16) -> String {
    format!(
        "sum(http_server_request_duration_seconds_count{{job=\"webapp\",http_request_method=\"GET\",http_route=\"{route}\",http_response_status_code=\"{status}\"}})"
    )
}

/// The web app's requests, counted by route template (an order's page is one route whatever the
/// order), its open streams and the orders it sent; no order id, customer or path in any label.
#[tokio::test(flavor = "multi_thread")]
async fn prometheus_sees_the_web_apps_requests_by_route_and_never_an_order() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let web = shop.start(common::domain::wiring::ServiceName::Webapp);
    let base = web.web_address().await;
    let url = web.metrics_url().await;
    let prometheus = Prometheus::start(&[("webapp", url.as_str())]).await;
    expect(&prometheus, "sum(up{job=\"webapp\"})", 1.0).await;

    let customer = Customer::login(&base, "Metrics Ann").await.expect("login");
    let mut orders = Vec::new();
    for _ in 0..2 {
        orders.push(customer.order().await.expect("order"));
    }
    for id in &orders {
        assert_eq!(
            customer
                .answer(&format!("/orders/{id}"))
                .await
                .expect("page"),
            reqwest::StatusCode::OK
        );
    }
    let unmatched = "/no-such-page-3e7c";
    assert_eq!(
        customer.answer(unmatched).await.expect("answered"),
        reqwest::StatusCode::NOT_FOUND
    );
    let stream = customer
        .stream(&format!("/api/orders/{}/events", orders[0]), None)
        .await
        .expect("stream");

    expect(&prometheus, &requests("/orders/{order_id}", 200), 2.0).await;
    expect(&prometheus, &requests("other", 404), 1.0).await;
    expect(
        &prometheus,
        "sum(pizza_event_streams_open{job=\"webapp\"})",
        1.0,
    )
    .await;
    expect(&prometheus, &sent("webapp", &shop.sys.topics.ordered), 2.0).await;
    drop(stream);
    expect(
        &prometheus,
        "sum(pizza_event_streams_open{job=\"webapp\"})",
        0.0,
    )
    .await;

    let series = prometheus
        .query("{job=\"webapp\"}")
        .await
        .expect("the web app's series");
    assert!(!series.is_empty());
    for sample in &series {
        for value in sample.labels.values() {
            assert!(
                !orders.iter().any(|id| value.contains(id.as_str()))
                    && !value.contains("Metrics Ann")
                    && !value.contains(unmatched),
                "a label names an order, a customer or a path: {:?}",
                sample.labels
            );
        }
    }
    let page = reqwest::get(&url)
        .await
        .expect("served")
        .text()
        .await
        .expect("a page");
    for id in &orders {
        assert!(!page.contains(id.as_str()), "{page}");
    }
}
