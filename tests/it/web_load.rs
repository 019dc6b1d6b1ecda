//! 50 customers order and watch their pizzas for 30 s through the web app, with every service
//! running at time_scale 0: no request may fail with 5xx and every order must arrive.

use std::time::Duration;

use common::domain::wiring::ServiceName;
use pizza_tests::gate;
use pizza_tests::loadgen::{closed_loop, percentile, Follow};
use pizza_tests::{Broker, Shop};

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
        50,
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
    assert_eq!(run.server_errors(), 0, "5xx answers: {:?}", run.failures);
    assert!(
        run.failures.is_empty(),
        "failed requests: {:?}",
        run.failures
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
