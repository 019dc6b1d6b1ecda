//! The database going away mid-run, from an order's assembly until after its bake: the services
//! keep their offsets unstored and retry with back-off, so no event is lost and none is handled
//! twice; the web app answers a clear 503 page while it is away and recovers by itself when it
//! is back.

use std::time::{Duration, Instant};

use common::domain::wiring::ServiceName;
use pizza_tests::loadgen::Customer;
use pizza_tests::postgres::{fresh_name, Postgres};
use pizza_tests::settled;
use pizza_tests::topic_reader::count_by_key;
use pizza_tests::{Broker, Service, Shop};
use reqwest::StatusCode;

/// Waits until `service` has failed to handle an event of `topic` and said it tries again.
async fn retried(service: &Service, topic: &str, timeout: Duration) {
    let handling = format!("Handling topic '{topic}'");
    let deadline = Instant::now() + timeout;
    while !service
        .log()
        .lines()
        .any(|l| l.contains(&handling) && l.contains("failed, retrying in"))
    {
        assert!(
            Instant::now() < deadline,
            "{} never retried an event of {topic}:\n{}",
            service.name,
            service.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_survive_the_database_going_away_and_the_web_app_says_so_meanwhile() {
    let broker = Broker::start();
    // A server of this test's own: it is stopped and started again.
    let mut server = Postgres::start();
    let database = server.database(&fresh_name("outage"));
    let shop = Shop::open(
        &broker,
        &[
            ("simulation", "time_scale", "0.5"),
            ("state-store-orders", "db_module_class", "postgres"),
            ("state-store-orders", "name", &database),
            ("state-store-delivery", "db_module_class", "postgres"),
            ("state-store-delivery", "name", &database),
        ],
    )
    .await;
    let kitchen = shop.start_pipeline();
    for service in &kitchen {
        service
            .wait_for_log("Partitions assigned: pizza", Duration::from_secs(30))
            .await;
    }
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;
    let customer = Customer::login(&base, "Patient").await.expect("login");
    let mut placed = Vec::new();
    for _ in 0..10 {
        placed.push(
            customer
                .order()
                .await
                .expect("ordered while the database is up"),
        );
    }

    // Down while those orders are in the kitchen: every stage's write now fails.
    let deadline = Instant::now() + Duration::from_secs(30);
    while shop.status_of(&placed[0]).await != Some(200) {
        assert!(
            Instant::now() < deadline,
            "the first order never reached the oven"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = shop.started(&placed).await;
    server.stop();
    // Read from the broker, which the outage leaves alone: an order delivered before the stop
    // has its event there, and one without it was still on its way when the database went.
    let delivered = count_by_key(&shop.kafka, &shop.sys.topics.delivered);
    let in_flight: Vec<&String> = started
        .iter()
        .filter(|id| !delivered.contains_key(*id))
        .collect();
    assert!(
        !in_flight.is_empty(),
        "no order the kitchen had started on was undelivered when the database went \
         (started: {started:?})"
    );
    let down = Instant::now();
    let answer = customer.answer("/orders").await.expect("an answer");
    assert_eq!(answer, StatusCode::SERVICE_UNAVAILABLE);
    let page = customer.page("/orders").await.expect("a page");
    assert!(page.contains("cannot reach its orders"), "{page}");
    let refused = customer.order().await;
    assert!(
        refused.is_err(),
        "an order cannot be taken without its store"
    );
    // Down until the oven has finished an order and both the status service and delivery have
    // failed to note a baked pizza and wait to try again: the outage then holds up every stage
    // that writes. (A fixed outage raced the bake, which at this time_scale takes about as
    // long.)
    let of = |name| {
        kitchen
            .iter()
            .find(|s| s.name == name)
            .expect("the kitchen runs")
    };
    of(ServiceName::Bake)
        .wait_for_log("is baked!", Duration::from_secs(30))
        .await;
    let patience = Duration::from_secs(30);
    retried(of(ServiceName::Delivery), &shop.sys.topics.baked, patience).await;
    retried(of(ServiceName::Status), &shop.sys.topics.status, patience).await;
    server.resume();

    // Back by itself: pages answer again, new orders are taken, and every order is delivered.
    let deadline = Instant::now() + Duration::from_secs(30);
    while customer.answer("/orders").await.ok() != Some(StatusCode::OK) {
        assert!(Instant::now() < deadline, "the web app did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "web app answering {:?} after the database went",
        down.elapsed()
    );
    placed.push(customer.order().await.expect("ordered after the outage"));
    let lost = shop
        .wait_until_delivered(&placed, Duration::from_secs(120))
        .await;
    eprintln!(
        "every order delivered {:?} after the database went",
        down.elapsed()
    );
    assert!(lost.is_empty(), "orders lost to the outage: {lost:?}");
    // Each handler retried what it could not save: a notice retried after its delivery had
    // gone out must not send a second driver.
    let twice = settled::delivered_twice(&shop, &placed, Duration::from_secs(30)).await;
    assert!(twice.is_empty(), "delivered twice: {twice:?}");
    let retried: usize = kitchen
        .iter()
        .map(|s| s.log().matches("retrying in").count())
        .sum();
    assert!(
        retried > 0,
        "no handler had to wait for the database, so nothing was tested"
    );
}
