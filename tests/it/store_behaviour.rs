//! What every state store must do, whatever keeps its rows: one suite, run against each
//! implementation on a real database (SQLite files, a PostgreSQL server).

use common::domain::events::{OrderDetails, Pizza, PizzaOrdered};
use common::domain::status::StatusAt;
use pizza_tests::stores::{delivery_settings, each_location, each_store, orders_settings, HOUR};
use store::{open_delivery_store, open_order_store};
use store::{DeliveryState, StatusChange, StoreError};

fn placed(customer: &str, timestamp: i64) -> PizzaOrdered {
    PizzaOrdered {
        status: 100,
        timestamp,
        order: OrderDetails {
            customer_id: customer.into(),
            username: "Ann".into(),
            pizza: Pizza {
                sauce: "Tomato".into(),
                cheese: "Mozzarella".into(),
                main_topping: "Pork".into(),
                extra_toppings: vec!["Egg".into(), "Onion".into()],
            },
        },
    }
}

fn at(status: i64, timestamp: i64) -> StatusAt {
    StatusAt { status, timestamp }
}

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

fn early(customer: &str) -> DeliveryState {
    DeliveryState {
        customer_id: Some(customer.into()),
        ..DeliveryState::default()
    }
}

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

/// Every change of the view is written with it, in commit order, and another handle on the same
/// store (a web app, say) is woken after the commit.
#[tokio::test(flavor = "multi_thread")]
async fn changes_of_the_view_are_announced_in_order() {
    for place in each_location() {
        let settings = orders_settings(place.location.clone());
        let writer = open_order_store(&settings).await.expect("writer");
        let reader = open_order_store(&settings).await.expect("reader");
        let mut woken = reader.watch_changes().await.expect("watch");
        assert_eq!(reader.last_change().await.expect("last"), 0, "{place}");
        writer
            .add_order("o", &placed("c1", 10), 1_000)
            .await
            .expect("add");
        writer
            .add_order("p", &placed("c2", 10), 1_000)
            .await
            .expect("add");
        let seen = *woken.borrow_and_update();
        let updates = vec![
            ("o".to_owned(), at(200, 20)),
            ("p".to_owned(), at(300, 30)),
            ("o".to_owned(), at(100, 5)),
        ];
        writer.update_statuses(updates, 2_000).await.expect("fold");
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while *woken.borrow_and_update() == seen {
                woken.changed().await.expect("watching");
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{place}: the reader was not woken"));
        writer.flag_stuck(i64::MAX, 50).await.expect("flag");

        let changes = reader.changes_after(0, 10).await.expect("changes");
        let seen: Vec<(&str, &str, StatusAt)> = changes
            .iter()
            .map(|c| (c.order_id.as_str(), c.customer_id.as_str(), c.status))
            .collect();
        assert_eq!(
            seen,
            [
                ("o", "c1", at(200, 20)),
                ("p", "c2", at(300, 30)),
                ("o", "c1", at(50, 20)),
                ("p", "c2", at(50, 30)),
            ],
            "{place}: what changed, and no change for the event that changed nothing"
        );
        assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq), "{place}");
        let last = reader.last_change().await.expect("last");
        assert_eq!(last, changes[3].seq, "{place}");
        let of_o = reader
            .order_changes_after("o", changes[0].seq)
            .await
            .expect("o");
        assert_eq!(of_o.len(), 1, "{place}: o's changes after its first");
        assert!(
            reader
                .changes_after(last, 10)
                .await
                .expect("none")
                .is_empty(),
            "{place}"
        );
    }
}
