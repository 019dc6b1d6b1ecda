//! Looking into the history from the web app, as Stream Lineage does (docs/metrics.md, the shop
//! floor): an order's way through the topics, read from the topics themselves, with each event's
//! place, time and writer; a topic's drill-down with its partitions, contract and latest events;
//! a program's; and none of it shows one customer another's name, customer id or order.

use std::time::Duration;

use common::domain::wiring::ServiceName;
use common::kafka::partitioner::partition_for;
use pizza_tests::loadgen::Customer;
use pizza_tests::{Broker, Shop};

const PATIENCE: Duration = Duration::from_secs(60);

/// The rows of the lineage table: (topic, partition, offset, written by), in the page's order.
fn hops(page: &str) -> Vec<(String, i32, i64, String)> {
    page.split("<tr data-topic=\"")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td>")
                .skip(1)
                .map(|cell| {
                    let end = cell.find("</td>").unwrap_or(cell.len());
                    let text = &cell[..end];
                    // The topic's cell is a link.
                    text.rsplit("<code>")
                        .next()
                        .unwrap_or(text)
                        .trim_end_matches("</code></a>")
                        .to_owned()
                })
                .collect();
            (
                cells[2].clone(),
                cells[3].parse().expect("a partition"),
                cells[4].parse().expect("an offset"),
                cells[5].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orders_lineage_and_the_drill_downs_show_each_customer_only_their_own() {
    let broker = Broker::start();
    // More partitions than the demo's one: the lineage finds the order's partition.
    let shop = Shop::open(&broker, &[("kafka-topic-config", "num_partitions", "3")]).await;
    let _kitchen = shop.start_pipeline();
    let webapp = shop.start(ServiceName::Webapp);
    let base = webapp.web_address().await;
    let ann = Customer::login(&base, "Ann").await.expect("Ann");
    let bob = Customer::login(&base, "Bob").await.expect("Bob");
    let anns = ann.order().await.expect("Ann's order");
    let bobs = bob.order().await.expect("Bob's order");
    shop.wait_for_all(&[anns.clone(), bobs.clone()], 999, PATIENCE)
        .await;

    // Every event of Ann's order, in time order, each where the Java client's partitioner puts
    // its key, written by the program whose stage it is.
    let page = ann
        .page(&format!("/orders/{anns}/lineage"))
        .await
        .expect("lineage");
    let found = hops(&page);
    let partition = partition_for(anns.as_bytes(), 3);
    let mut stages: Vec<(&str, &str)> = found
        .iter()
        .map(|(topic, p, _, writer)| {
            assert_eq!(*p, partition, "{topic}: {page}");
            (topic.as_str(), writer.as_str())
        })
        .collect();
    // Two events written in the same millisecond may come either way round.
    stages.sort();
    let mut expected = vec![
        ("pizza-assembled", "assemble"),
        ("pizza-baked", "bake"),
        ("pizza-delivered", "delivery"),
        ("pizza-ordered", "webapp"),
        ("pizza-status", "assemble"),
        ("pizza-status", "bake"),
        ("pizza-status", "delivery"),
        ("pizza-status", "webapp"),
    ];
    expected.sort();
    assert_eq!(stages, expected, "{page}");
    let ordered_first = &found[0];
    assert_eq!(ordered_first.0, "pizza-ordered", "the order comes first");
    assert!(
        page.contains("Order received and being prepared") && page.contains("+"),
        "statuses named, times between hops: {page}"
    );
    let status_offsets: Vec<i64> = found
        .iter()
        .filter(|h| h.0 == "pizza-status")
        .map(|h| h.2)
        .collect();
    assert!(
        status_offsets.windows(2).all(|w| w[0] < w[1]),
        "one partition's events in offset order: {status_offsets:?}"
    );

    // Someone else's order has no lineage for Bob, as it has no page.
    assert_eq!(
        bob.answer(&format!("/orders/{anns}/lineage"))
            .await
            .expect("answered")
            .as_u16(),
        404
    );

    // The topic's drill-down: its partitions, its contract, its latest events; Bob's own event
    // whole, Ann's without her order id, name, customer id or pizza.
    let ordered = bob
        .page("/shop-floor/topics/pizza-ordered")
        .await
        .expect("drill-down");
    for said in [
        "schemas/pizza-ordered.json",
        "customer_id",
        "required",
        "Partition",
        &bobs,
        "Bob",
        "(withheld: another customer",
    ] {
        assert!(ordered.contains(said), "{said} missing:\n{ordered}");
    }
    for hidden in [anns.as_str(), "Ann"] {
        assert!(!ordered.contains(hidden), "Bob sees {hidden}:\n{ordered}");
    }
    let status = bob
        .page("/shop-floor/topics/pizza-status")
        .await
        .expect("drill-down");
    assert!(
        status.contains(&bobs) && !status.contains(&anns),
        "{status}"
    );
    let contract = bob
        .page("/shop-floor/contracts/pizza-ordered.json")
        .await
        .expect("contract");
    let contract: serde_json::Value = serde_json::from_str(&contract).expect("JSON");
    assert_eq!(contract["title"], "pizza-ordered");
    assert_eq!(
        bob.answer("/shop-floor/topics/pizza-dead-letter")
            .await
            .expect("answered")
            .as_u16(),
        404,
        "dead letters carry others' events whole: no drill-down"
    );
    let bake = bob
        .page("/shop-floor/programs/bake")
        .await
        .expect("program");
    assert!(
        bake.contains("<code>pizza_bake</code>") && bake.contains("pizza-assembled"),
        "its group and what it reads: {bake}"
    );
}
