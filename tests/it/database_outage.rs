//! The database going away mid-run, from an order's assembly until after its bake: the services
//! keep their offsets unstored and retry with back-off, so no event is lost; the web app answers a clear 503 page while it is away and
//! recovers by itself when it is back.

use std::time::{Duration, Instant};

use common::domain::wiring::ServiceName;
use pizza_tests::loadgen::Customer;
use pizza_tests::postgres::{fresh_name, Postgres};
use pizza_tests::{Broker, Shop};
use reqwest::StatusCode;

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
    let in_flight = shop.in_flight(&placed).await;
    assert!(
        in_flight > 0,
        "no order was in flight when the database went"
    );
    server.stop();
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
    // Down until the oven has finished an order, and a second more: the status of that order
    // must then be written, and so must delivery's notice of it, while the database is away.
    // (A fixed outage raced the bake, which at this time_scale takes about as long.)
    let bake = kitchen
        .iter()
        .find(|s| s.name == ServiceName::Bake)
        .expect("bake runs");
    bake.wait_for_log("is baked!", Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
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
    let retried: usize = kitchen
        .iter()
        .map(|s| s.log().matches("retrying in").count())
        .sum();
    assert!(
        retried > 0,
        "no handler had to wait for the database, so nothing was tested"
    );
}
