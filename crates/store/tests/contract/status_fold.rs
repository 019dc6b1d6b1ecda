//! The status service's fold: events change what an order shows only when they supersede it (by
//! event time, a finished order staying finished), in one transaction per batch, and a finished
//! order stops being watched.

use store::StatusChange;

use crate::backends::each_store;
use crate::fixtures::{at, placed};

#[tokio::test]
async fn statuses_fold_by_event_time_and_delivered_stays_delivered() {
    for store in each_store().await {
        let orders = store.orders();
        orders
            .add_order("o", &placed("c", 10), 10)
            .await
            .expect("add");
        orders
            .add_order("p", &placed("c", 10), 10)
            .await
            .expect("add");
        let batch = vec![
            ("o".to_owned(), at(300, 30)),
            ("nope".to_owned(), at(200, 20)),
            ("o".to_owned(), at(200, 20)),
            ("p".to_owned(), at(999, 40)),
            ("p".to_owned(), at(300, 50)),
            ("o".to_owned(), at(300, 30)),
        ];
        let changes = orders.update_statuses(batch, 50).await.expect("batch");
        assert_eq!(
            changes,
            [
                StatusChange::Updated { previous: 100 },
                StatusChange::UnknownOrder,
                StatusChange::Ignored { current: 300 },
                StatusChange::Updated { previous: 100 },
                StatusChange::Ignored { current: 999 },
                StatusChange::Ignored { current: 300 },
            ],
            "{store}"
        );
        let status = |record: Option<store::OrderRecord>| record.map(|o| o.status);
        assert_eq!(
            status(orders.get_order("o").await.expect("q")),
            Some(at(300, 30)),
            "{store}"
        );
        assert_eq!(
            status(orders.get_order("p").await.expect("q")),
            Some(at(999, 40)),
            "{store}"
        );
        // Finished orders are no longer watched: the watchdog never flags them.
        assert_eq!(
            orders.flag_stuck(i64::MAX, 50).await.expect("flag"),
            ["o"],
            "{store}"
        );
    }
}
