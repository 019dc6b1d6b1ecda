//! Delivery's memory of each order: a save lands only over the version it read, so of two
//! instances deciding about one order at once, only one acts.

use store::{open_delivery_store, DeliveryState};

use crate::backends::{delivery_settings, each_location, each_store};
use crate::fixtures::early;

#[tokio::test]
async fn delivery_saves_only_over_what_it_read() {
    for store in each_store().await {
        let delivery = store.delivery();
        assert_eq!(delivery.load("o").await.expect("load"), None, "{store}");
        assert!(
            delivery
                .save("o", &early("c"), None, 1)
                .await
                .expect("save"),
            "{store}"
        );
        assert!(
            !delivery
                .save("o", &early("x"), None, 1)
                .await
                .expect("save"),
            "a second first save loses, {store}"
        );
        let read = delivery.load("o").await.expect("load").expect("there");
        assert_eq!(read.value, early("c"), "{store}");
        let baked = DeliveryState {
            baked: true,
            claimed_until: Some(99),
            ..early("c")
        };
        assert!(
            delivery
                .save("o", &baked, Some(read.version), 2)
                .await
                .expect("save"),
            "{store}"
        );
        assert!(
            !delivery
                .save("o", &early("c"), Some(read.version), 3)
                .await
                .expect("save"),
            "a save over a stale read loses, {store}"
        );
        let now = delivery.load("o").await.expect("load").expect("there");
        assert_eq!(now.value, baked, "{store}");
        assert_ne!(now.version, read.version, "{store}");
    }
}

/// Two delivery instances (during a rebalance, say) decide about the same order at once: only
/// one of their saves lands, so only one acts.
#[tokio::test(flavor = "multi_thread")]
async fn of_two_instances_saving_over_the_same_read_only_one_wins() {
    for place in each_location() {
        let settings = delivery_settings(place.location.clone());
        let a = open_delivery_store(&settings).await.expect("instance a");
        let b = open_delivery_store(&settings).await.expect("instance b");
        for round in 0..20 {
            let order_id = format!("o{round}");
            let (from_a, from_b) = (early("a"), early("b"));
            let (first_a, first_b) = tokio::join!(
                a.save(&order_id, &from_a, None, 1),
                b.save(&order_id, &from_b, None, 1)
            );
            let firsts = [first_a.expect("a"), first_b.expect("b")];
            assert_eq!(
                firsts.iter().filter(|won| **won).count(),
                1,
                "{place}: {firsts:?}"
            );
            let read = a.load(&order_id).await.expect("load").expect("there");
            let claimed = DeliveryState {
                claimed_until: Some(9),
                ..read.value.clone()
            };
            let (claim_a, claim_b) = tokio::join!(
                a.save(&order_id, &claimed, Some(read.version), 2),
                b.save(&order_id, &claimed, Some(read.version), 2)
            );
            let claims = [claim_a.expect("a"), claim_b.expect("b")];
            assert_eq!(
                claims.iter().filter(|won| **won).count(),
                1,
                "{place}: {claims:?}"
            );
        }
    }
}
