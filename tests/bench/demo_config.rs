//! The demo as `./start_demo.sh` runs it: `config_kafka/localhost.ini` against the broker it
//! starts (its `[local-broker] storage`) and the shipped `config_sys/default.ini` (one partition
//! per topic), at time_scale 0. What it burns with nothing ordered, and how long one order takes
//! from order to delivered. `bench --demo-only` changes one setting at a time, for a sweep.

use std::path::Path;
use std::time::Duration;

use common::settings::IniFile;
use pizza_tests::binaries::workspace_root;
use pizza_tests::ini::set_key;
use pizza_tests::{Broker, Shop};
use serde_json::{json, Value};

use crate::process_stats::cpu_time;
use crate::{cpu_by_service, launch, order_figures};

const IDLE_SECONDS: u64 = 20;
const ORDERS_PER_SECOND: f64 = 2.0;
const ORDER_SECONDS: u64 = 20;

/// What differs from the shipped files, for a sweep; nothing by default.
#[derive(Debug, Default, Clone)]
pub(crate) struct Changes {
    /// The broker's storage instead of `localhost.ini`'s `[local-broker] storage`.
    pub sqlite: Option<bool>,
    /// `key = value` lines of `[kafka]` that replace the shipped ones.
    pub kafka: Vec<String>,
    /// `[kafka-topic-config] num_partitions` instead of `default.ini`'s.
    pub partitions: Option<u32>,
}

/// `localhost.ini` pointed at `broker`, with `changes` and everything else as shipped.
fn shipped_kafka_ini(shipped: &str, broker: &Broker, changes: &[String]) -> String {
    let mut text = set_key(shipped, "kafka", "bootstrap.servers", &broker.bootstrap());
    for line in changes {
        if let Some((key, value)) = line.split_once('=') {
            text = set_key(&text, "kafka", key.trim(), value.trim());
        }
    }
    text
}

pub(crate) async fn measure(changes: &Changes) -> anyhow::Result<Value> {
    let shipped = std::fs::read_to_string(workspace_root().join("config_kafka/localhost.ini"))?;
    let sqlite = match changes.sqlite {
        Some(sqlite) => sqlite,
        None => {
            let ini = IniFile::parse(Path::new("localhost.ini"), &shipped)?;
            ini.optional("local-broker", "storage")?.as_deref() == Some("sqlite")
        }
    };
    let broker = if sqlite {
        Broker::start_durable()
    } else {
        Broker::start()
    };
    let kafka = shipped_kafka_ini(&shipped, &broker, &changes.kafka);
    let sys = std::fs::read_to_string(workspace_root().join("config_sys/default.ini"))?;
    let bind = format!("127.0.0.1:{}", pizza_tests::broker::unused_port());
    let partitions = changes.partitions.map(|n| n.to_string());
    let mut edits = vec![
        ("simulation", "time_scale", "0"),
        ("webapp", "bind", bind.as_str()),
        ("state-store-orders", "name", "{shop}/data/orders.db"),
        ("state-store-delivery", "name", "{shop}/data/delivery.db"),
        ("webapp", "session_key_file", "{shop}/data/session.key"),
    ];
    if let Some(partitions) = &partitions {
        edits.push(("kafka-topic-config", "num_partitions", partitions.as_str()));
    }
    let shop = Shop::open_with_files(&kafka, &sys, &edits).await;
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
        "broker_storage": if sqlite { "sqlite" } else { "memory" },
        "kafka": changes.kafka,
        "num_partitions": changes.partitions,
        "idle_cpu_percent_services": services_idle,
        "idle_cpu_percent_broker": broker_idle,
        "idle_cpu_percent_total": ((services_idle + broker_idle) * 10.0).round() / 10.0,
        "orders": order_figures(&orders),
    }))
}
