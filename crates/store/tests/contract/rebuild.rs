//! A rebuild's tables aside: nothing of them shows until the switch, which then puts them in
//! place whole, keeps what only the live store holds (rows newer than the rebuild, rows the
//! history lacks, a driver's claim, ended sessions, the changes), applies the watchdog's rule, and
//! tells the live pages what changed. A rebuild that stops before the switch leaves the live store
//! as it was, and one rebuild keeps another out.

use common::domain::status::StatusAt;
use store::rebuild::{DeliveryRow, Stuck, Switch, Switched, ViewRow};
use store::{
    delivery_aside, lock_rebuild, open_delivery_store, open_order_store, orders_aside,
    DeliveryState, OrderRecord, StoreError,
};

use crate::backends::{delivery_settings, each_location, orders_settings, HOUR};
use crate::fixtures::{at, placed};

/// When the rebuilds in these cases began.
const SINCE: i64 = 500;
const NOW: i64 = 1_000;

/// An order of customer `c` as the history has it, watched since its status's time unless it is
/// finished.
fn row(order_id: &str, placed_at: i64, status: StatusAt) -> ViewRow {
    let order = placed("c", placed_at);
    ViewRow {
        order: OrderRecord {
            order_id: order_id.into(),
            timestamp: placed_at,
            details: order.order,
            status,
        },
        watched_since: (status.status != 999).then_some(status.timestamp),
    }
}

#[tokio::test]
async fn the_rebuilt_view_shows_only_from_the_switch_and_keeps_what_only_the_live_one_has() {
    for place in each_location() {
        let settings = orders_settings(place.location.clone());
        let live = open_order_store(&settings).await.expect("live view");
        for (id, placed_at) in [("a", 10), ("b", 10), ("late", 600)] {
            live.add_order(id, &placed("c", placed_at), placed_at)
                .await
                .expect("placed");
        }
        live.end_sessions("c", NOW).await.expect("logged out");
        let seen = live.last_change().await.expect("changes");

        let mut aside = orders_aside(&settings).await.expect("aside");
        aside
            .write(vec![
                row("a", 10, at(200, 20)),
                row("x", 10, at(999, 40)),
                row("w", 10, at(200, 5)),
            ])
            .await
            .expect("written aside");
        aside
            .write(vec![row("a", 10, at(300, 30))])
            .await
            .expect("a row written again replaces the one before");
        assert_eq!(
            live.get_order("a").await.expect("read").map(|o| o.status),
            Some(at(100, 10)),
            "nothing shows before the switch, {place}"
        );
        assert_eq!(live.get_order("x").await.expect("read"), None, "{place}");

        aside.lock_live().await.expect("held");
        let switched = aside
            .switch(Switch {
                since_ms: SINCE,
                now_ms: NOW,
                stuck: Some(Stuck {
                    cutoff_ms: 20,
                    status: 50,
                }),
            })
            .await
            .expect("switched");
        assert_eq!(
            switched,
            Switched {
                kept_recent: 1,
                kept_older: 1,
                changed: 3,
                flagged: 1,
            },
            "{place}"
        );
        let shows = |id: &'static str| {
            let live = live.clone();
            async move { live.get_order(id).await.expect("read").map(|o| o.status) }
        };
        assert_eq!(shows("a").await, Some(at(300, 30)), "{place}");
        assert_eq!(shows("x").await, Some(at(999, 40)), "{place}");
        assert_eq!(
            shows("w").await,
            Some(at(50, 5)),
            "no progress since before the cutoff: stuck, its time kept, {place}"
        );
        assert_eq!(
            shows("b").await,
            Some(at(100, 10)),
            "the history lacks it: kept, {place}"
        );
        assert_eq!(shows("late").await, Some(at(100, 600)), "{place}");
        assert_eq!(live.count_stuck(50).await.expect("count"), 1, "{place}");
        let changed: Vec<(String, StatusAt)> = live
            .changes_after(seen, 10)
            .await
            .expect("changes")
            .into_iter()
            .map(|c| (c.order_id, c.status))
            .collect();
        assert_eq!(
            changed,
            [
                ("a".to_owned(), at(300, 30)),
                ("w".to_owned(), at(50, 5)),
                ("x".to_owned(), at(999, 40)),
            ],
            "the pages following them hear of it, {place}"
        );
        assert!(
            live.sessions_ended("c").await.expect("sessions"),
            "not derived from the history: kept, {place}"
        );
        let listed: Vec<String> = live
            .customer_orders("c", 10)
            .await
            .expect("list")
            .into_iter()
            .map(|o| o.order_id)
            .collect();
        assert_eq!(listed, ["late", "a", "b", "w", "x"], "{place}");

        // Again: what the first rebuild put in place (its indexes' names included) is the live
        // view the second one rebuilds beside.
        let mut again = orders_aside(&settings).await.expect("aside again");
        again
            .write(vec![row("a", 10, at(999, 50))])
            .await
            .expect("written");
        let switched = again
            .switch(Switch {
                since_ms: SINCE,
                now_ms: NOW,
                stuck: None,
            })
            .await
            .expect("switched again");
        assert_eq!(
            (switched.kept_recent, switched.kept_older),
            (1, 3),
            "{place}"
        );
        assert_eq!(shows("a").await, Some(at(999, 50)), "{place}");
        live.update_statuses(vec![("late".into(), at(200, 700))], NOW)
            .await
            .expect("the status service writes the rebuilt view");
        assert_eq!(shows("late").await, Some(at(200, 700)), "{place}");
    }
}

#[tokio::test]
async fn a_rebuild_that_stops_before_the_switch_leaves_the_live_view_as_it_was() {
    for place in each_location() {
        let settings = orders_settings(place.location.clone());
        let live = open_order_store(&settings).await.expect("live view");
        live.add_order("a", &placed("c", 10), 10)
            .await
            .expect("placed");
        let mut aside = orders_aside(&settings).await.expect("aside");
        aside
            .write(vec![row("a", 10, at(999, 40))])
            .await
            .expect("written");
        aside.lock_live().await.expect("held");
        drop(aside);
        live.update_statuses(vec![("a".into(), at(200, 20))], NOW)
            .await
            .expect("the live view is writable again once the rebuild is gone");
        assert_eq!(
            live.get_order("a").await.expect("read").map(|o| o.status),
            Some(at(200, 20)),
            "{place}"
        );
        let again = orders_aside(&settings)
            .await
            .expect("what the last one left aside is dropped");
        let switched = again
            .switch(Switch {
                since_ms: SINCE,
                now_ms: NOW,
                stuck: None,
            })
            .await
            .expect("switched");
        assert_eq!(switched.kept_older, 1, "nothing left from before, {place}");
    }
}

fn state(customer: Option<&str>, baked: bool, delivered: bool) -> DeliveryState {
    DeliveryState {
        customer_id: customer.map(str::to_owned),
        baked,
        delivered,
        ..DeliveryState::default()
    }
}

#[tokio::test]
async fn delivery_keeps_its_own_latest_word_and_moves_past_every_version_it_read() {
    for place in each_location() {
        let settings = delivery_settings(place.location.clone());
        let live = open_delivery_store(&settings).await.expect("live store");
        let out = DeliveryState {
            claimed_until: Some(NOW + HOUR),
            ..state(Some("c"), true, false)
        };
        for (id, saved, at) in [
            ("claimed", out.clone(), 100),
            ("old", state(Some("c"), true, false), 100),
            ("fresh", state(Some("c"), false, false), SINCE + 1),
            ("only_live", state(Some("c"), false, false), 100),
        ] {
            assert!(live.save(id, &saved, None, at).await.expect("saved"));
        }
        let mut aside = delivery_aside(&settings).await.expect("aside");
        let derived = |id: &str, state: DeliveryState| DeliveryRow {
            order_id: id.into(),
            state,
            updated_at: 200,
        };
        aside
            .write(vec![
                derived("claimed", state(Some("c"), true, false)),
                derived("old", state(Some("c"), true, true)),
                derived("fresh", state(None, true, false)),
                derived("new", state(Some("c"), false, false)),
            ])
            .await
            .expect("written aside");
        let switched = aside
            .switch(Switch {
                since_ms: SINCE,
                now_ms: NOW,
                stuck: None,
            })
            .await
            .expect("switched");
        assert_eq!(
            switched,
            Switched {
                kept_recent: 2,
                kept_older: 1,
                changed: 2,
                flagged: 0,
            },
            "{place}"
        );
        let load = |id: &'static str| {
            let live = live.clone();
            async move { live.load(id).await.expect("load").expect("there") }
        };
        let claimed = load("claimed").await;
        assert_eq!(
            (claimed.value, claimed.version),
            (out, 1),
            "a driver is out: the claim stays, {place}"
        );
        let old = load("old").await;
        assert_eq!(
            (old.value, old.version),
            (state(Some("c"), true, true), 2),
            "{place}"
        );
        assert!(
            !live
                .save("old", &state(Some("c"), true, false), Some(1), NOW)
                .await
                .expect("save"),
            "a save over the version read before the switch lands nowhere, {place}"
        );
        assert_eq!(
            load("fresh").await.value,
            state(Some("c"), false, false),
            "{place}"
        );
        assert_eq!(
            load("only_live").await.value,
            state(Some("c"), false, false),
            "{place}"
        );
        let new = load("new").await;
        assert_eq!(new.version, 1, "{place}");
    }
}

#[tokio::test]
async fn one_rebuild_keeps_another_out_until_it_is_gone() {
    for place in each_location() {
        let first = lock_rebuild(&[&place.location])
            .await
            .expect("the first takes the lock");
        let second = lock_rebuild(&[&place.location]).await;
        assert!(
            matches!(second, Err(StoreError::RebuildRunning { .. })),
            "{place}: {second:?}"
        );
        drop(first);
        // The database sees the session end a moment after the client goes.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match lock_rebuild(&[&place.location]).await {
                Ok(_) => break,
                Err(StoreError::RebuildRunning { .. }) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(error) => panic!("{place}: {error:?}"),
            }
        }
    }
}
