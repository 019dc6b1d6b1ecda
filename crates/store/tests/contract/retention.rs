//! Retention: each store forgets what is past its configured hours (orders 4, watches 2,
//! delivery's rows 4 in these settings), and the view's changes and ended sessions past their
//! fixed periods, and keeps the rest.

use store::{CHANGES_KEPT_MS, SESSIONS_ENDED_KEPT_MS};

use crate::backends::{each_store, HOUR};
use crate::fixtures::{at, early, placed};

#[tokio::test]
async fn retention_removes_old_orders_and_old_watches() {
    for store in each_store().await {
        let orders = store.orders();
        let now = 100 * HOUR;
        // The stores keep orders 4 hours and watches 2 hours.
        orders
            .add_order("old", &placed("c", now - 5 * HOUR), now - 5 * HOUR)
            .await
            .expect("add");
        orders
            .add_order("kept", &placed("c", now - 3 * HOUR), now - 3 * HOUR)
            .await
            .expect("add");
        orders
            .add_order("new", &placed("c", now), now)
            .await
            .expect("add");
        assert_eq!(
            orders.purge_expired(now).await.expect("purge"),
            1,
            "{store}"
        );
        assert_eq!(orders.get_order("old").await.expect("q"), None, "{store}");
        assert!(
            orders.get_order("kept").await.expect("q").is_some(),
            "{store}"
        );
        // "kept" was last watched three hours ago: no longer watched, so never flagged.
        assert_eq!(
            orders.flag_stuck(i64::MAX, 50).await.expect("flag"),
            ["new"],
            "{store}"
        );
    }
}

#[tokio::test]
async fn delivery_forgets_orders_past_retention() {
    for store in each_store().await {
        let delivery = store.delivery();
        let now = 100 * HOUR;
        delivery
            .save("old", &early("c"), None, now - 5 * HOUR)
            .await
            .expect("save");
        delivery
            .save("new", &early("c"), None, now)
            .await
            .expect("save");
        assert_eq!(
            delivery.purge_expired(now).await.expect("purge"),
            1,
            "{store}"
        );
        assert_eq!(delivery.load("old").await.expect("load"), None, "{store}");
        assert!(
            delivery.load("new").await.expect("load").is_some(),
            "{store}"
        );
    }
}

/// The view's changes and the ended sessions go after fixed periods, whatever the configured
/// hours; `purge_expired` counts only the orders it removed.
#[tokio::test]
async fn retention_forgets_old_changes_and_old_logouts() {
    for store in each_store().await {
        let orders = store.orders();
        let now = 1_000 * HOUR;
        orders
            .add_order("o", &placed("c", now), now)
            .await
            .expect("add");
        orders
            .update_statuses(
                vec![("o".into(), at(200, now + 1))],
                now - CHANGES_KEPT_MS - 1,
            )
            .await
            .expect("an old change");
        orders
            .update_statuses(vec![("o".into(), at(300, now + 2))], now - CHANGES_KEPT_MS)
            .await
            .expect("a change just young enough");
        orders
            .end_sessions("gone", now - SESSIONS_ENDED_KEPT_MS - 1)
            .await
            .expect("an old logout");
        orders
            .end_sessions("kept", now - SESSIONS_ENDED_KEPT_MS)
            .await
            .expect("a logout just young enough");
        assert_eq!(
            orders.purge_expired(now).await.expect("purge"),
            0,
            "{store}"
        );
        let statuses: Vec<_> = orders
            .changes_after(0, 10)
            .await
            .expect("changes")
            .into_iter()
            .map(|change| change.status.status)
            .collect();
        assert_eq!(statuses, [300], "{store}");
        assert!(
            !orders.sessions_ended("gone").await.expect("read"),
            "{store}"
        );
        assert!(
            orders.sessions_ended("kept").await.expect("read"),
            "{store}"
        );
    }
}
