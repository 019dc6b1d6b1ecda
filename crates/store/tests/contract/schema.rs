//! The schema: instances opening one store at once bring its tables up to date once, and all of
//! them use the same tables.

use store::open_order_store;

use crate::backends::{each_location, orders_settings};
use crate::fixtures::placed;

#[tokio::test(flavor = "multi_thread")]
async fn instances_starting_at_once_set_the_schema_up_once() {
    for place in each_location() {
        let settings = orders_settings(place.location.clone());
        let stores = futures::future::join_all((0..4).map(|_| open_order_store(&settings))).await;
        for opened in &stores {
            assert!(opened.is_ok(), "{place}: {:?}", opened.as_ref().err());
        }
        let first = stores[0].as_ref().expect("opened");
        first.add_order("o", &placed("c", 1), 1).await.expect("add");
        for store in &stores {
            let order = store
                .as_ref()
                .expect("opened")
                .get_order("o")
                .await
                .expect("read");
            assert!(
                order.is_some(),
                "{place}: every instance sees the same table"
            );
        }
    }
}
