//! The benchmark's push figures: how long a status takes from its event on `pizza-status` to a
//! browser's stream, and what 10,000 open streams cost one web app.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::domain::events::now_ms;
use common::settings::{ClientRole, KafkaSettings};
use pizza_tests::loadgen::{percentile, Customer};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{json, Value};

use crate::process_stats::{cpu_time, resident_mb};

/// When each status event was stamped, by (order, status), as a reader of `pizza-status` sees it.
type Stamps = Arc<Mutex<HashMap<(String, i64), i64>>>;

/// Reads `pizza-status` from its end, keeping each record's timestamp, until `stop`.
fn stamp_reader(kafka: &KafkaSettings, topic: &str, stop: Arc<AtomicBool>) -> Stamps {
    let stamps: Stamps = Arc::default();
    let mut config: ClientConfig = kafka.client_config(ClientRole::Consumer);
    config
        .set("group.id", "bench-push")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5");
    let Ok(consumer) = config.create::<BaseConsumer>() else {
        return stamps;
    };
    let mut list = TopicPartitionList::new();
    if let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)) {
        for t in metadata.topics() {
            for p in t.partitions() {
                let _ = list.add_partition_offset(topic, p.id(), Offset::End);
            }
        }
    }
    let _ = consumer.assign(&list);
    let kept = stamps.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) else {
                continue;
            };
            let key = message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .unwrap_or_default();
            let value: Value =
                serde_json::from_slice(message.payload().unwrap_or_default()).unwrap_or_default();
            if let (Some(status), Some(at)) =
                (value["status"].as_i64(), message.timestamp().to_millis())
            {
                kept.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((key, status), at);
            }
        }
    });
    stamps
}

/// 10 orders a second for 10 s, followed on the customer's "My orders" stream, opened before the
/// first order: from each status event's timestamp to its pushed event. (Following each order's
/// own stream, opened once the order is placed, timed the stream's set-up instead: at
/// time_scale 0 an order is delivered before its stream has connected.)
pub(crate) async fn latency(base: &str, kafka: &KafkaSettings, status_topic: &str) -> Value {
    let stop = Arc::new(AtomicBool::new(false));
    let stamps = stamp_reader(kafka, status_topic, stop.clone());
    // The reader is assigned its partitions before the first order.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let Ok(customer) = Customer::login(base, "Pushed").await else {
        return json!({"error": "login"});
    };
    let Ok(mut stream) = customer.stream("/api/orders/events", None).await else {
        return json!({"error": "stream"});
    };
    let received: Arc<Mutex<Vec<(String, i64, i64)>>> = Arc::default();
    let listening = {
        let (received, stop) = (received.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(Some(event)) =
                    tokio::time::timeout(Duration::from_millis(200), stream.next()).await
                else {
                    continue;
                };
                let arrived = now_ms();
                let data = event.json();
                if let (Some(order), Some(status)) =
                    (data["order_id"].as_str(), data["status"].as_i64())
                {
                    let mut received = received.lock().unwrap_or_else(|p| p.into_inner());
                    received.push((order.to_owned(), status, arrived));
                }
            }
        })
    };
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        ticks.tick().await;
        let customer = customer.clone();
        tasks.push(tokio::spawn(async move {
            let _ = customer.order().await;
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let _ = listening.await;
    let stamps = stamps.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let received = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let latencies: Vec<Duration> = received
        .iter()
        .filter_map(|(order, status, arrived)| {
            let stamped = stamps.get(&(order.clone(), *status))?;
            Some(Duration::from_millis(
                u64::try_from(arrived - stamped).ok()?,
            ))
        })
        .collect();
    json!({
        "pushed": received.len(),
        "matched": latencies.len(),
        "p50_ms": percentile(&latencies, 50.0).as_millis() as u64,
        "p99_ms": percentile(&latencies, 99.0).as_millis() as u64,
    })
}

/// `count` streams open on the web app (`customers` customers, `count / customers` each, on their
/// "My orders" stream) while each customer orders once; what the web app spends meanwhile.
pub(crate) async fn many_streams(
    base: &str,
    webapp_pid: u32,
    count: usize,
    customers: usize,
) -> Value {
    let mut people = Vec::new();
    for n in 0..customers {
        match Customer::login(base, &format!("Crowd{n}")).await {
            Ok(customer) => people.push(customer),
            Err(_) => return json!({"error": "login"}),
        }
    }
    let opened = Arc::new(AtomicUsize::new(0));
    let events = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let rss_before = resident_mb(webapp_pid);
    let mut readers = Vec::new();
    let started = Instant::now();
    for n in 0..count {
        let customer = people[n % people.len()].clone();
        let (opened, events, stop) = (opened.clone(), events.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let Ok(mut stream) = customer.stream("/api/orders/events", None).await else {
                return;
            };
            if stream.status != reqwest::StatusCode::OK {
                return;
            }
            opened.fetch_add(1, Ordering::Relaxed);
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
                    Ok(Some(_)) => {
                        events.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(None) => return,
                    Err(_) => {}
                }
            }
        }));
        // Not all at once: the listener's backlog is finite.
        if n % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    while opened.load(Ordering::Relaxed) < count && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let open_after = started.elapsed();
    let idle_cpu_before = cpu_time(webapp_pid);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_cpu = cpu_time(webapp_pid).saturating_sub(idle_cpu_before);
    let rss_open = resident_mb(webapp_pid);
    // Orders flow: each customer orders once, over 20 s, and every change goes to its streams.
    let events_before = events.load(Ordering::Relaxed);
    let cpu_before = cpu_time(webapp_pid);
    let flowing = Instant::now();
    let pause = Duration::from_secs(20) / u32::try_from(people.len()).unwrap_or(1).max(1);
    let mut placed = 0;
    for customer in &people {
        if customer.order().await.is_ok() {
            placed += 1;
        }
        tokio::time::sleep(pause).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let busy = flowing.elapsed();
    let cpu = cpu_time(webapp_pid).saturating_sub(cpu_before);
    let rss_flowing = resident_mb(webapp_pid);
    let pushed = events.load(Ordering::Relaxed) - events_before;
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let _ = reader.await;
    }
    let percent = |spent: Duration, over: Duration| {
        (spent.as_secs_f64() / over.as_secs_f64() * 1000.0).round() / 10.0
    };
    json!({
        "streams_open": opened.load(Ordering::Relaxed),
        "open_s": (open_after.as_secs_f64() * 10.0).round() / 10.0,
        "rss_mb_before": (rss_before * 10.0).round() / 10.0,
        "rss_mb_open": (rss_open * 10.0).round() / 10.0,
        "rss_mb_flowing": (rss_flowing * 10.0).round() / 10.0,
        "cpu_percent_open_idle": percent(idle_cpu, Duration::from_secs(5)),
        "cpu_percent_flowing": percent(cpu, busy),
        "orders": placed,
        "events_pushed": pushed,
    })
}
