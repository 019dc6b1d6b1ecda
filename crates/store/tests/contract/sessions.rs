//! Ended sessions: a customer's logout holds on every web app sharing the store, for that customer
//! alone, and logging out again is no error.

use store::open_order_store;

use crate::backends::{each_location, orders_settings};

#[tokio::test]
async fn a_logout_on_one_web_app_holds_on_another_for_that_customer_alone() {
    for place in each_location() {
        let settings = orders_settings(place.location.clone());
        let here = open_order_store(&settings).await.expect("one web app");
        let there = open_order_store(&settings).await.expect("another");
        assert!(
            !there.sessions_ended("c1").await.expect("read"),
            "{place}: nobody has logged out yet"
        );
        here.end_sessions("c1", 10).await.expect("logout");
        here.end_sessions("c1", 20)
            .await
            .unwrap_or_else(|e| panic!("{place}: a second logout: {e}"));
        assert!(there.sessions_ended("c1").await.expect("read"), "{place}");
        assert!(
            !there.sessions_ended("c2").await.expect("read"),
            "{place}: another customer's sessions go on"
        );
    }
}
