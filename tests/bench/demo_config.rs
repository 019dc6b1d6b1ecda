//! The demo as `./start_demo.sh` runs it: `config_kafka/localhost.ini` against a memory broker
//! and the shipped `config_sys/default.ini` (one partition per topic), at time_scale 0. What it
//! burns with nothing ordered, and how long one order takes from order to delivered.

use std::time::Duration;

use pizza_tests::binaries::workspace_root;
use pizza_tests::{Broker, Shop};
use serde_json::{json, Value};

use crate::process_stats::cpu_time;
use crate::{cpu_by_service, launch, order_figures};

const IDLE_SECONDS: u64 = 20;
const ORDERS_PER_SECOND: f64 = 2.0;
const ORDER_SECONDS: u64 = 10;

/// `localhost.ini` pointed at `broker`, everything else in it as shipped.
fn shipped_kafka_ini(broker: &Broker) -> anyhow::Result<String> {
    let shipped = std::fs::read_to_string(workspace_root().join("config_kafka/localhost.ini"))?;
    Ok(shipped
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("bootstrap.servers") {
                format!("bootstrap.servers = {}", broker.bootstrap())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

pub async fn measure() -> anyhow::Result<Value> {
    let broker = Broker::start();
    let kafka = shipped_kafka_ini(&broker)?;
    let sys = std::fs::read_to_string(workspace_root().join("config_sys/default.ini"))?;
    let bind = format!("127.0.0.1:{}", pizza_tests::broker::unused_port());
    let shop = Shop::open_with_files(
        &kafka,
        &sys,
        &[
            ("simulation", "time_scale", "0"),
            ("webapp", "bind", bind.as_str()),
            ("state-store-orders", "name", "{shop}/data/orders.db"),
            ("state-store-delivery", "name", "{shop}/data/delivery.db"),
            ("webapp", "session_key_file", "{shop}/data/session.key"),
        ],
    )
    .await;
    let services = launch(&shop).await?;
    // Joining groups and the first metadata requests are start-up, not idling.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let services_before: Duration = cpu_by_service(&services).iter().sum();
    let broker_before = cpu_time(broker.pid());
    tokio::time::sleep(Duration::from_secs(IDLE_SECONDS)).await;
    let percent =
        |spent: Duration| (spent.as_secs_f64() / IDLE_SECONDS as f64 * 1000.0).round() / 10.0;
    let services_idle =
        percent(cpu_by_service(&services).iter().sum::<Duration>() - services_before);
    let broker_idle = percent(cpu_time(broker.pid()) - broker_before);
    let orders = pizza_tests::loadgen::paced(
        &format!("http://{bind}"),
        ORDERS_PER_SECOND,
        Duration::from_secs(ORDER_SECONDS),
        Duration::from_millis(1),
    )
    .await;
    Ok(json!({
        "idle_cpu_percent_services": services_idle,
        "idle_cpu_percent_broker": broker_idle,
        "idle_cpu_percent_total": ((services_idle + broker_idle) * 10.0).round() / 10.0,
        "orders": order_figures(&orders),
    }))
}
