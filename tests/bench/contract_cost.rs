//! What the services' own contract check costs (`bench --check-cost`): each topic's value as the
//! shop writes it (`schemas/examples/<topic>/ours.json`) checked, key and payload, as a producer
//! checks it before sending, many times over; then the cost of the eight checks an order takes
//! (its four stage events and four statuses). Read beside the services' CPU per order of a
//! `--quick` run.

use std::time::Instant;

use anyhow::Context;
use common::contracts::Contracts;
use common::domain::topics::Topic;
use pizza_tests::binaries::workspace_root;
use serde_json::{json, Value};

const ROUNDS: u32 = 200_000;

/// How many of each topic's events one delivered order makes.
const PER_ORDER: [(Topic, u32); 5] = [
    (Topic::Ordered, 1),
    (Topic::Assembled, 1),
    (Topic::Baked, 1),
    (Topic::Delivered, 1),
    (Topic::Status, 4),
];

pub(crate) fn measure() -> anyhow::Result<Value> {
    let contracts = Contracts::shop().context("the shop's contracts")?;
    let key = "4f1c9e0a";
    let mut per_topic = serde_json::Map::new();
    let mut per_order_ns = 0.0;
    println!("| topic | payload bytes | ns per check | checks per order |");
    println!("|---|---|---|---|");
    for (topic, count) in PER_ORDER {
        let contract = contracts
            .of_topic(topic)
            .with_context(|| format!("no contract for {topic:?}"))?;
        let file = workspace_root()
            .join("schemas/examples")
            .join(contract.file.trim_end_matches(".json"))
            .join("ours.json");
        let payload =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let payload: Vec<u8> = payload.trim_ascii_end().to_vec();
        contract
            .check_key(key)
            .and_then(|()| contract.check_payload(&payload))
            .map_err(|violation| anyhow::anyhow!("{}: {violation}", file.display()))?;
        let started = Instant::now();
        for _ in 0..ROUNDS {
            let checked = contract
                .check_key(std::hint::black_box(key))
                .and_then(|()| contract.check_payload(std::hint::black_box(&payload)));
            std::hint::black_box(checked.is_ok());
        }
        let ns = started.elapsed().as_nanos() as f64 / f64::from(ROUNDS);
        per_order_ns += ns * f64::from(count);
        println!(
            "| {} | {} | {ns:.0} | {count} |",
            contract.file.trim_end_matches(".json"),
            payload.len()
        );
        per_topic.insert(
            contract.file.trim_end_matches(".json").to_owned(),
            json!(ns.round()),
        );
    }
    let per_1000_orders_s = per_order_ns * 1000.0 / 1e9;
    println!("| per order, all eight | | {per_order_ns:.0} | 8 |");
    println!(
        "CPU s per 1,000 orders spent checking contracts in the services: {per_1000_orders_s:.4}"
    );
    Ok(json!({
        "mode": "check-cost",
        "ns_per_check": per_topic,
        "ns_per_order": per_order_ns.round(),
        "cpu_s_per_1000_orders": per_1000_orders_s,
    }))
}
