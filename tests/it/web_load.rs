//! 50 customers order and watch their pizzas for 30 s through the web app, with every service
//! running at time_scale 0: no request may fail with 5xx (but for the orders in flight when the
//! broker gives a producer up for good, which the web app replaces) and every order must arrive.

use std::time::Duration;

use common::domain::wiring::ServiceName;
use pizza_tests::gate;
use pizza_tests::loadgen::{closed_loop, percentile, Failure, Follow};
use pizza_tests::{Broker, Shop};

const CUSTOMERS: usize = 50;

#[tokio::test(flavor = "multi_thread")]
async fn fifty_customers_for_thirty_seconds_get_no_5xx_and_every_pizza() {
    // Its load would slow the other tests' services, and theirs would be counted in its run.
    let _alone = gate::alone();
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let services = shop.start_pipeline();
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;

    let run = closed_loop(
        &base,
        CUSTOMERS,
        Duration::from_secs(30),
        Follow::Poll(Duration::from_millis(20)),
    )
    .await;
    eprintln!(
        "{} orders delivered ({:.0}/s), POST p99 {:?}, order to delivered p99 {:?}",
        run.delivered(),
        run.per_second(),
        percentile(&run.post_latencies, 99.0),
        percentile(&run.delivered_latencies, 99.0)
    );
    // Under this load the local broker now and then forgets where an idempotent producer's
    // sequence stood, and librdkafka gives that producer up for good; the web app puts a new one
    // in its place (tests/it/producer_failed.rs). The orders in flight on the old one are
    // refused with 503, at most one per customer each time; nothing else may fail.
    let replaced = web.log().matches("failed for good").count();
    let (refused, failed): (Vec<_>, Vec<_>) = run.failures.iter().partition(|f| {
        matches!(f, Failure::Server(status, what) if status.as_u16() == 503 && what == "POST /")
    });
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert!(
        refused.len() <= replaced * CUSTOMERS,
        "{} orders refused with 503, while the web app replaced its producer {replaced} times",
        refused.len()
    );
    assert!(
        run.unfinished.is_empty(),
        "orders never delivered: {:?}",
        run.unfinished
    );
    assert!(
        run.delivered() >= 50,
        "only {} orders went through",
        run.delivered()
    );
    let reread: usize = services
        .iter()
        .map(|s| s.log().matches("never arrived; reading again").count())
        .sum();
    eprintln!("Partitions read again after a gap: {reread}");
    // Every order placed is in the view, delivered.
    let lost = shop
        .wait_until_delivered(&run.placed, Duration::from_secs(5))
        .await;
    assert!(
        lost.is_empty(),
        "orders not delivered in the view: {lost:?}"
    );
}
