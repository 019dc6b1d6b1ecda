//! The web app's orders: stored as placed, read back whole, listed newest first, refused when
//! their id is taken, and taken back when the broker never acknowledged them.

use store::StoreError;

use crate::backends::each_store;
use crate::fixtures::{at, placed};

#[tokio::test]
async fn orders_are_added_read_and_listed_newest_first() {
    for store in each_store().await {
        let orders = store.orders();
        orders
            .add_order("a1", &placed("c1", 10), 10)
            .await
            .expect("add");
        orders
            .add_order("a2", &placed("c1", 20), 20)
            .await
            .expect("add");
        orders
            .add_order("b1", &placed("c2", 30), 30)
            .await
            .expect("add");
        let got = orders
            .get_order("a1")
            .await
            .expect("query")
            .expect("present");
        assert_eq!(got.details, placed("c1", 10).order, "{store}");
        assert_eq!((got.timestamp, got.status), (10, at(100, 10)), "{store}");
        let ids: Vec<_> = orders
            .customer_orders("c1", 10)
            .await
            .expect("query")
            .into_iter()
            .map(|o| o.order_id)
            .collect();
        assert_eq!(ids, ["a2", "a1"], "{store}");
        assert!(
            matches!(
                orders.add_order("a1", &placed("c1", 10), 10).await,
                Err(StoreError::DuplicateOrder(_))
            ),
            "{store}"
        );
        assert_eq!(
            orders.get_order("zz").await.expect("query"),
            None,
            "{store}"
        );
        orders.delete_order("a2").await.expect("delete");
        assert_eq!(
            orders.get_order("a2").await.expect("query"),
            None,
            "{store}"
        );
    }
}
