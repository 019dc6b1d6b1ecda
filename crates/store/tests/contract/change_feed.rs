//! The change feed behind the web app's live pages: every change of the view is written with it,
//! in commit order, and another handle on the same store is woken once it is committed.

use common::domain::status::StatusAt;
use store::open_order_store;

use crate::backends::{each_location, orders_settings};
use crate::fixtures::{at, placed};

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
