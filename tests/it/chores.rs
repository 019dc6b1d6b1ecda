//! The background chores at the shipped settings, against a real broker and the real binaries:
//! the watchdog (`status_watchdog_minutes = 0.25`, `status_invalid_timeout_minutes = 0.75`)
//! and the retention clean-up of both stores (`table_*_retention_hours = 4`).

use std::time::{Duration, Instant};

use common::domain::events::now_ms;
use common::domain::wiring::ServiceName;
use pizza_tests::shop::ordered;
use pizza_tests::{Broker, Shop};
use store::DeliveryState;

const HOUR_MS: i64 = 3_600_000;

#[tokio::test(flavor = "multi_thread")]
async fn the_watchdog_flags_an_order_after_45_s_without_progress_not_before() {
    let broker = Broker::start();
    // The shipped watchdog: a round every 15 s, flagging what has not moved for 45 s.
    let shop = Shop::open(
        &broker,
        &[
            ("state-store-orders", "status_watchdog_minutes", "0.25"),
            (
                "state-store-orders",
                "status_invalid_timeout_minutes",
                "0.75",
            ),
        ],
    )
    .await;
    let status = shop.start(ServiceName::Status);
    let producer = shop.producer().await;
    // Only the status service runs: nothing in the kitchen moves the order on.
    let id = "5107e0a1";
    let placed = Instant::now();
    shop.place_order(&producer, id).await;
    shop.wait_for_status(id, 100, Duration::from_secs(30))
        .await
        .expect("placed");

    // Not early: watched through the whole timeout, it stays placed.
    while placed.elapsed() < Duration::from_secs(44) {
        assert_eq!(
            shop.status_of(id).await,
            Some(100),
            "flagged after {:?}, before the 45 s timeout",
            placed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Not late: the first round after 45 s flags it, and rounds are 15 s apart.
    shop.wait_for_status(id, 50, Duration::from_secs(25))
        .await
        .expect("flagged stuck within a round of the timeout");
    let flagged = placed.elapsed();
    assert!(
        flagged >= Duration::from_secs(45) && flagged <= Duration::from_secs(66),
        "flagged after {flagged:?}"
    );
    assert!(status.log().contains(&format!("Order '{id}' got stuck!")));
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_past_their_retention_are_removed_and_recent_ones_kept() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let deliveries = shop.delivery_store().await;
    let (old, recent) = (now_ms() - 5 * HOUR_MS, now_ms() - HOUR_MS);
    for (id, at) in [("01d0001d", old), ("0ece0001", recent)] {
        let mut placed = ordered(id);
        placed.timestamp = at;
        shop.orders
            .add_order(id, &placed, at)
            .await
            .expect("stored");
        let state = DeliveryState {
            customer_id: Some("c0ffee".into()),
            ..DeliveryState::default()
        };
        assert!(deliveries.save(id, &state, None, at).await.expect("saved"));
    }

    // Each service clears its store when it starts, then every ten minutes.
    let status = shop.start(ServiceName::Status);
    let delivery = shop.start(ServiceName::Delivery);
    for service in [&status, &delivery] {
        service
            .wait_for_log(
                "Removed 1 row(s) past their retention",
                Duration::from_secs(60),
            )
            .await;
    }
    assert!(shop
        .orders
        .get_order("01d0001d")
        .await
        .expect("read")
        .is_none());
    assert!(shop
        .orders
        .get_order("0ece0001")
        .await
        .expect("read")
        .is_some());
    assert!(deliveries.load("01d0001d").await.expect("read").is_none());
    assert!(deliveries.load("0ece0001").await.expect("read").is_some());
}
