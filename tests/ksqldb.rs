//! `run_me_first` submits the statements of `ksql/` to the `[ksqldb]` endpoint: checked against a
//! small HTTP server that records what a ksqlDB server would receive.

use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use pizza_tests::binaries::binary;
use pizza_tests::{Broker, Shop};

#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    ksql: String,
}

type Log = Arc<Mutex<Vec<Received>>>;

async fn ksql(State(log): State<Log>, headers: HeaderMap, body: String) -> String {
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let statement = json["ksql"].as_str().unwrap_or_default().to_owned();
    log.lock().expect("lock").push(Received {
        headers,
        ksql: statement.clone(),
    });
    if statement.starts_with("SHOW QUERIES") {
        // One query already runs: it must not be submitted twice.
        r#"[{"@type":"queries","queries":[{"queryString":"INSERT INTO PIZZA_STATUS SELECT order_id, status, timestamp FROM PIZZA_ORDERED EMIT CHANGES;","id":"INSERTQUERY_1"}]}]"#.to_owned()
    } else {
        r#"[{"@type":"currentStatus","commandStatus":{"status":"SUCCESS"}}]"#.to_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_me_first_submits_the_streams_and_the_missing_queries() {
    let log: Log = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Router::new()
        .route("/ksql", post(ksql))
        .with_state(log.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let broker = Broker::start();
    let kafka = format!(
        "[kafka]\nbootstrap.servers = {}\n[ksqldb]\nendpoint = http://{address}/\nusername = KEY\npassword = SECRET\n",
        broker.bootstrap()
    );
    let shop = Shop::open_with_kafka(&kafka, &[]).await;
    let output = Command::new(binary("run_me_first"))
        .arg(&shop.kafka_ini)
        .arg(&shop.sys_ini)
        .current_dir(shop.path())
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let received = log.lock().expect("lock").clone();
    let statements: Vec<&str> = received.iter().map(|r| r.ksql.as_str()).collect();
    assert_eq!(
        statements.len(),
        6,
        "streams, SHOW QUERIES, four queries: {statements:#?}"
    );
    for stream in [
        "PIZZA_ORDERED",
        "PIZZA_ASSEMBLED",
        "PIZZA_BAKED",
        "PIZZA_DELIVERED",
        "PIZZA_PENDING",
        "PIZZA_STATUS",
    ] {
        assert!(
            statements[0].contains(&format!("CREATE STREAM IF NOT EXISTS {stream} (")),
            "{stream}"
        );
    }
    assert!(!statements[0].contains("--"), "comments are not sent");
    assert_eq!(statements[1], "SHOW QUERIES;");
    for (statement, source) in statements[2..].iter().zip([
        "PIZZA_ASSEMBLED",
        "PIZZA_BAKED",
        "PIZZA_DELIVERED",
        "PIZZA_PENDING",
    ]) {
        assert_eq!(
            *statement,
            format!("INSERT INTO PIZZA_STATUS SELECT order_id, status, timestamp FROM {source} EMIT CHANGES;")
        );
    }
    for request in &received {
        // "KEY:SECRET" in base64.
        assert_eq!(request.headers["authorization"], "Basic S0VZOlNFQ1JFVA==");
        assert_eq!(request.headers["accept"], "application/vnd.ksql.v1+json");
        assert!(request.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/vnd.ksql.v1+json"));
    }
}
