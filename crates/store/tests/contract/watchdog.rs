//! The watchdog: orders without progress are flagged stuck once, keeping their event time, and
//! counted for the shop floor; progress clears the flag, and "something went wrong" ends the
//! watch.

use store::StatusChange;

use crate::backends::each_store;
use crate::fixtures::{at, placed};

#[tokio::test]
async fn the_watchdog_flags_orders_without_progress_once_and_progress_clears_it() {
    for store in each_store().await {
        let orders = store.orders();
        orders
            .add_order("slow", &placed("c", 10), 1_000)
            .await
            .expect("add");
        orders
            .add_order("busy", &placed("c", 10), 1_000)
            .await
            .expect("add");
        orders
            .update_statuses(vec![("busy".into(), at(200, 20))], 5_000)
            .await
            .expect("update");
        assert_eq!(
            orders.flag_stuck(2_000, 50).await.expect("flag"),
            ["slow"],
            "{store}"
        );
        let slow = orders.get_order("slow").await.expect("q").expect("there");
        assert_eq!(
            slow.status,
            at(50, 10),
            "stuck keeps the event time, {store}"
        );
        assert!(
            orders.flag_stuck(2_000, 50).await.expect("flag").is_empty(),
            "{store}"
        );
        assert_eq!(
            orders.count_stuck(50).await.expect("count"),
            1,
            "the shop floor's count, {store}"
        );
        let changes = orders
            .update_statuses(vec![("slow".into(), at(200, 25))], 6_000)
            .await
            .expect("update");
        assert_eq!(changes, [StatusChange::Updated { previous: 50 }], "{store}");
        assert_eq!(
            orders.count_stuck(50).await.expect("count"),
            0,
            "progress clears the count, {store}"
        );
        // Something wrong is final for the watchdog too.
        orders
            .update_statuses(vec![("busy".into(), at(430, 30))], 7_000)
            .await
            .expect("update");
        assert!(
            orders.flag_stuck(5_500, 50).await.expect("flag").is_empty(),
            "{store}"
        );
    }
}
