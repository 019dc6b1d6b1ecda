//! A producer the broker refuses for good: librdkafka's idempotent producer treats a sequence
//! the broker did not expect as fatal, after which that producer sends nothing more. Every
//! program replaces it with a new one and goes on; no order is lost.

use std::time::{Duration, Instant};

use common::domain::wiring::ServiceName;
use pizza_tests::loadgen::{Customer, Failure};
use pizza_tests::settled;
use pizza_tests::{Broker, Shop};

const PATIENCE: Duration = Duration::from_secs(60);

async fn delivered(customer: &Customer, orders: &[String]) {
    let deadline = Instant::now() + PATIENCE;
    for order in orders {
        loop {
            let status = customer.status(order).await.unwrap_or(0);
            if status == 999 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "order {order} not delivered within {PATIENCE:?} (status {status})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn producers_refused_for_good_are_replaced_and_no_order_is_lost() {
    let mut broker = Broker::start_durable();
    let shop = Shop::open(&broker, &[]).await;
    let services = shop.start_pipeline();
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;
    let customer = Customer::login(&base, "Ann").await.expect("log in");

    // Every producer writes before the fault, so each has a sequence the broker then forgets.
    let mut before = Vec::new();
    for _ in 0..4 {
        before.push(customer.order().await.expect("an order before the fault"));
    }
    delivered(&customer, &before).await;
    broker.forget_producer_sequences();

    // Customers order on; one the shop refuses (503) is ordered again, as its page says.
    let mut after = Vec::new();
    let mut refused = 0;
    let deadline = Instant::now() + PATIENCE;
    while after.len() < 8 {
        assert!(
            Instant::now() < deadline,
            "only {} orders placed within {PATIENCE:?} of the fault ({refused} refused)",
            after.len()
        );
        match customer.order().await {
            Ok(order) => after.push(order),
            Err(Failure::Server(status, _)) if status == 503 => refused += 1,
            Err(other) => panic!("an order after the fault: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    delivered(&customer, &after).await;
    // A producer replaced while its last send was unanswered must not leave a second copy of an
    // order's delivery behind.
    let all: Vec<String> = before.iter().chain(&after).cloned().collect();
    let twice = settled::delivered_twice(&shop, &all, Duration::from_secs(30)).await;
    assert!(twice.is_empty(), "delivered twice: {twice:?}");
    assert!(
        refused > 0,
        "no order was refused after the broker forgot the sequences, so nothing was tested"
    );
    // Every program that had sent something met the fault, and went on without a restart.
    let programs = services
        .iter()
        .filter(|s| s.name != ServiceName::Status)
        .chain([&web]);
    for program in programs {
        assert!(
            program.log().contains("failed for good"),
            "{:?} never met the fault its producer was set up for:\n{}",
            program.name,
            program.log()
        );
    }
}
