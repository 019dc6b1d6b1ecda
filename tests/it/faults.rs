//! Faults while orders are in flight: services killed with SIGKILL or stopped with SIGTERM, the
//! broker restarted, a second instance of every kitchen service. After each, every order must
//! reach 999 (none lost) and no order may be delivered twice.
//!
//! Each test prints one row of the fault table: fault, orders in flight, lost, handled twice.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::domain::wiring::ServiceName;
use pizza_tests::settled;
use pizza_tests::shop::{ids, KITCHEN};
use pizza_tests::{Broker, Service, Shop};

/// How long stragglers may take once the faults are over: a killed member holds its partitions
/// for the session timeout (10 s) before the group hands them on.
const RECOVERY: Duration = Duration::from_secs(90);
/// How long, after a crash and an immediate restart, a partition may have no live owner.
const OWNERLESS_AT_MOST: Duration = Duration::from_secs(30);
/// How long the kitchen may take to start on an order: assembling takes 8 s of simulated time,
/// so 2 s at a quarter of real time, and a loaded machine adds to that.
const STARTED_WITHIN: Duration = Duration::from_secs(30);

/// Prints one row of the fault table and asserts what every fault test must show: orders were
/// in flight when the fault struck (a kitchen service had started on them: see
/// `Shop::started`), none was lost, none was delivered twice.
fn report(fault: &str, in_flight: usize, lost: &[String], twice: usize) {
    eprintln!("| {fault} | {in_flight} | {} | {twice} |", lost.len());
    assert!(
        in_flight > 0,
        "{fault}: no order was in flight, so nothing was tested"
    );
    assert!(lost.is_empty(), "{fault}: orders lost: {lost:?}");
    assert_eq!(twice, 0, "{fault}: orders delivered twice");
}

/// Orders with more than one `pizza-delivered` event, counted once nothing more can come
/// (see `settled`).
async fn delivered_twice(shop: &Shop, orders: &[String]) -> usize {
    settled::delivered_twice(shop, orders, Duration::from_secs(20))
        .await
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_of_each_service_in_turn_with_an_immediate_restart_loses_no_order() {
    let broker = Broker::start();
    // A quarter of real time: an order spends 4 to 10 s in the kitchen and on the road, so each
    // kill lands on orders half-way through a stage.
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "0.25")]).await;
    let mut services: HashMap<ServiceName, Service> =
        KITCHEN.iter().map(|s| (*s, shop.start(*s))).collect();
    let producer = shop.producer().await;
    let orders = ids("c4a5", 600);
    let placed = AtomicUsize::new(0);
    let crashed = AtomicBool::new(false);

    // Orders keep coming while each service in turn is killed and, as a supervisor does,
    // started again at once. Within 30 s the new instance must own every partition.
    let placing = async {
        let mut ticks = tokio::time::interval(Duration::from_millis(200));
        for id in &orders {
            if crashed.load(Ordering::Relaxed) {
                break;
            }
            ticks.tick().await;
            shop.place_order(&producer, id).await;
            placed.fetch_add(1, Ordering::Relaxed);
        }
    };
    let crashing = async {
        let mut in_flight = Vec::new();
        for name in KITCHEN {
            // Orders not placed yet are not in the view, so all of them can be asked about.
            in_flight.push((name, shop.wait_for_in_flight(&orders, STARTED_WITHIN).await));
            if let Some(service) = services.get_mut(&name) {
                service.kill();
            }
            let restarted = shop.start(name);
            let started = std::time::Instant::now();
            wait_for_every_partition(&restarted, name, &shop).await;
            eprintln!(
                "{name} owns every partition {:?} after its restart",
                started.elapsed()
            );
            for line in restarted.log().lines().filter(|l| l.contains("Partitions")) {
                eprintln!("    {line}");
            }
            // The next fault comes once the new instance has handled an order: it works, and
            // does not just hold its partitions.
            restarted.wait_for_log(handled_marker(name), RECOVERY).await;
            services.insert(name, restarted);
        }
        crashed.store(true, Ordering::Relaxed);
        in_flight
    };
    let ((), in_flight) = tokio::join!(placing, crashing);

    let orders = &orders[..placed.load(Ordering::Relaxed)];
    let lost = shop.wait_until_delivered(orders, RECOVERY).await;
    let twice = delivered_twice(&shop, orders).await;
    for (name, flying) in &in_flight {
        report(
            &format!("kill -9 {name}, restarted at once"),
            *flying,
            &lost,
            twice,
        );
    }
}

/// What a kitchen service logs each time it has handled an order.
fn handled_marker(name: ServiceName) -> &'static str {
    match name {
        ServiceName::Assemble => "is assembled!",
        ServiceName::Bake => "is baked!",
        ServiceName::Delivery => "delivered to customer_id",
        _ => "status updated",
    }
}

/// Waits (30 s at most) until `service`, the only member of its group, is assigned every
/// partition of the topics it reads.
async fn wait_for_every_partition(service: &Service, name: ServiceName, shop: &Shop) {
    let partitions = shop.sys.topic_config.num_partitions as usize;
    let deadline = std::time::Instant::now() + OWNERLESS_AT_MOST;
    loop {
        if let Some(topics) = assignment(service) {
            if !topics.is_empty() && topics.values().all(|p| p.len() == partitions) {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} did not own every partition within {OWNERLESS_AT_MOST:?}:\n{}",
            service.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restart_mid_run_loses_no_order() {
    let mut broker = Broker::start_durable();
    let kafka = broker.kafka_ini();
    let shop = Shop::open_with_kafka(&kafka, &[("simulation", "time_scale", "0.1")]).await;
    let _services = shop.start_pipeline();
    let producer = shop.producer().await;
    let first = ids("b7e1", 60);
    shop.place_steadily(&producer, &first, Duration::from_millis(50))
        .await;

    let in_flight = shop.wait_for_in_flight(&first, STARTED_WITHIN).await;
    broker.restart(Duration::from_secs(2));
    // Orders placed while the services are still reconnecting.
    let second = ids("b7e2", 60);
    shop.place_steadily(&producer, &second, Duration::from_millis(50))
        .await;

    let orders: Vec<String> = first.into_iter().chain(second).collect();
    let lost = shop.wait_until_delivered(&orders, RECOVERY).await;
    let twice = delivered_twice(&shop, &orders).await;
    report(
        "broker restart (SQLite storage, idempotent producers)",
        in_flight,
        &lost,
        twice,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_exits_zero_within_five_seconds_and_redoes_what_was_in_flight() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "0.25")]).await;
    let mut services = shop.start_pipeline();
    let producer = shop.producer().await;
    let orders = ids("5e7e", 200);
    let placing = shop.place_steadily(&producer, &orders, Duration::from_millis(50));
    let stopping = async {
        let in_flight = shop.wait_for_in_flight(&orders, STARTED_WITHIN).await;
        let placed_before = count_placed(&shop, &orders).await;
        for service in &mut services {
            let (status, took) = service.stop().await;
            assert!(status.success(), "{} exited with {status}", service.name);
            assert!(
                took < Duration::from_secs(5),
                "{} took {took:?}",
                service.name
            );
        }
        let placed_during = count_placed(&shop, &orders).await - placed_before;
        (in_flight, placed_during)
    };
    let ((), (in_flight, placed_during)) = tokio::join!(placing, stopping);
    assert!(
        placed_during > 0,
        "no order was placed while the services shut down"
    );

    let _restarted = shop.start_pipeline();
    let lost = shop.wait_until_delivered(&orders, RECOVERY).await;
    let twice = delivered_twice(&shop, &orders).await;
    report("SIGTERM to all four", in_flight, &lost, twice);
}

/// How many of `orders` are placed so far (in the view).
async fn count_placed(shop: &Shop, orders: &[String]) -> usize {
    let mut placed = 0;
    for id in orders {
        if shop.status_of(id).await.is_some() {
            placed += 1;
        }
    }
    placed
}

/// The partitions a service's log last said it was assigned, by topic.
fn assignment(service: &Service) -> Option<HashMap<String, Vec<i32>>> {
    let log = service.log();
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("Partitions assigned:"))?;
    let listed = line.split("Partitions assigned:").nth(1)?.trim();
    let mut topics = HashMap::new();
    for entry in listed.split("], ") {
        let (topic, partitions) = entry.split_once(" [")?;
        let partitions = partitions
            .trim_end_matches(']')
            .split(", ")
            .filter_map(|p| p.parse().ok())
            .collect();
        topics.insert(topic.to_owned(), partitions);
    }
    Some(topics)
}

/// Waits until both instances hold half of the 4 partitions of every topic they read.
async fn wait_for_even_split(pair: &[Service; 2]) {
    let deadline = std::time::Instant::now() + RECOVERY;
    loop {
        let halves: Vec<_> = pair.iter().filter_map(assignment).collect();
        if halves.len() == 2
            && halves
                .iter()
                .all(|topics| topics.values().all(|p| p.len() == 2))
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} never split its partitions",
            pair[0].name
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Order ids in lines of `service`'s log that contain `marker`.
fn handled(service: &Service, marker: &str) -> BTreeSet<String> {
    service
        .log()
        .lines()
        .filter(|l| l.contains(marker))
        .filter_map(|l| l.split('\'').nth(1).map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_the_work_and_one_takes_over_when_the_other_stops() {
    let broker = Broker::start();
    // A tenth of real time, so an order spends a few seconds in the kitchen and some are there
    // when an instance stops.
    let shop = Shop::open(
        &broker,
        &[
            ("kafka-topic-config", "num_partitions", "4"),
            ("simulation", "time_scale", "0.1"),
        ],
    )
    .await;
    let _status = shop.start(ServiceName::Status);
    let mut pairs: Vec<[Service; 2]> = [
        ServiceName::Assemble,
        ServiceName::Bake,
        ServiceName::Delivery,
    ]
    .iter()
    .map(|s| [shop.start_in(*s, "a"), shop.start_in(*s, "b")])
    .collect();
    for pair in &pairs {
        wait_for_even_split(pair).await;
    }
    // Delivery hears of an order on two topics; co-partitioned topics and the range assignor
    // give each instance the same partition numbers of both.
    for instance in &pairs[2] {
        let topics = assignment(instance).expect("delivery assignment");
        assert_eq!(
            topics.get("pizza-ordered"),
            topics.get("pizza-baked"),
            "delivery instance in {:?}",
            instance.name
        );
    }

    let producer = shop.producer().await;
    let orders = ids("5ca1", 100);
    shop.place_steadily(&producer, &orders, Duration::from_millis(10))
        .await;
    let lost = shop.wait_until_delivered(&orders, RECOVERY).await;
    assert!(lost.is_empty(), "orders lost: {lost:?}");
    let markers = ["is assembled!", "is baked!", "delivered to customer_id"];
    for (pair, marker) in pairs.iter().zip(markers) {
        let (a, b) = (handled(&pair[0], marker), handled(&pair[1], marker));
        assert!(
            !a.is_empty() && !b.is_empty(),
            "{}: one instance idle",
            pair[0].name
        );
        assert!(
            a.is_disjoint(&b),
            "{}: handled by both: {:?}",
            pair[0].name,
            a.intersection(&b).collect::<Vec<_>>()
        );
        assert_eq!(a.len() + b.len(), orders.len(), "{}", pair[0].name);
    }
    // Sharing the work is not a fault: its deliveries are counted with the next batch's.

    // One instance of each is stopped (SIGTERM: it leaves the group, which rebalances at once)
    // while orders keep coming.
    let more = ids("5ca2", 100);
    let placing = shop.place_steadily(&producer, &more, Duration::from_millis(30));
    let stopping = async {
        let in_flight = shop.wait_for_in_flight(&more, STARTED_WITHIN).await;
        let placed_before = count_placed(&shop, &more).await;
        for pair in &mut pairs {
            let (status, _) = pair[1].stop().await;
            assert!(status.success(), "{} exited with {status}", pair[1].name);
        }
        (in_flight, count_placed(&shop, &more).await - placed_before)
    };
    let ((), (in_flight, placed_during)) = tokio::join!(placing, stopping);
    assert!(
        placed_during > 0,
        "no order was placed while the instances shut down"
    );
    let lost = shop.wait_until_delivered(&more, RECOVERY).await;
    let all: Vec<String> = orders.iter().chain(&more).cloned().collect();
    let twice = delivered_twice(&shop, &all).await;
    report("SIGTERM to one of two instances", in_flight, &lost, twice);
    for pair in &pairs {
        let topics = assignment(&pair[0]).expect("survivor assignment");
        assert!(
            topics.values().all(|p| p.len() == 4),
            "{} holds {topics:?}",
            pair[0].name
        );
    }
}
