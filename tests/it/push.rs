//! Live by push: the order page's streams (`/api/orders/<id>/events`, the log panel's and "My
//! orders'") on real services, with SQLite and with PostgreSQL behind two web apps.

use std::time::{Duration, Instant};

use common::domain::wiring::ServiceName;
use pizza_tests::loadgen::Customer;
use pizza_tests::postgres::{fresh_name, Postgres};
use pizza_tests::sse::{EventStream, SseEvent};
use pizza_tests::{Broker, Service, Shop};
use reqwest::StatusCode;

const PATIENCE: Duration = Duration::from_secs(60);
/// The stages an order shows, in the order it reaches them.
const STAGES: [i64; 4] = [100, 200, 300, 999];

fn stage(status: i64) -> usize {
    STAGES
        .iter()
        .position(|s| *s == status)
        .unwrap_or(usize::MAX)
}

async fn next(stream: &mut EventStream) -> Option<SseEvent> {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("an event or the end within a minute")
}

/// A shop at a fifth of real time (an order takes a few seconds), its kitchen and its web app.
async fn shop(broker: &Broker, edits: &[(&str, &str, &str)]) -> (Shop, Vec<Service>, String) {
    let mut all = vec![("simulation", "time_scale", "0.2")];
    all.extend_from_slice(edits);
    let shop = Shop::open(broker, &all).await;
    let mut services = shop.start_pipeline();
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;
    services.push(web);
    (shop, services, base)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_is_pushed_to_delivered_and_a_refresh_agrees_with_every_event() {
    let broker = Broker::start();
    let (_shop, _services, base) = shop(&broker, &[]).await;
    let customer = Customer::login(&base, "Ann").await.expect("login");
    let order_id = customer.order().await.expect("order");
    let path = format!("/api/orders/{order_id}/events");

    let stranger = Customer::login(&base, "Eve").await.expect("login");
    let refused = stranger.stream(&path, None).await.expect("an answer");
    assert_eq!(
        refused.status,
        StatusCode::NOT_FOUND,
        "another customer's order"
    );

    let mut stream = customer.stream(&path, None).await.expect("stream");
    assert_eq!(stream.status, StatusCode::OK);
    let mut seen = Vec::new();
    let mut last_id = 0i64;
    while let Some(event) = next(&mut stream).await {
        let json = event.json();
        let status = json["status"].as_i64().expect("a status");
        // The same JSON as the order's endpoint, and the view already holds it: a refresh now
        // shows this status or a later one, never an earlier one.
        let refreshed = customer.status(&order_id).await.expect("refresh");
        assert!(
            stage(refreshed) >= stage(status),
            "refresh shows {refreshed} after {status}"
        );
        assert_eq!(json["order_id"], order_id.as_str());
        assert!(json["status_str"].is_string() && json["sauce"].is_string());
        let id: i64 = event
            .id
            .as_deref()
            .and_then(|i| i.parse().ok())
            .expect("an id");
        assert!(seen.is_empty() || id > last_id, "ids grow");
        last_id = id;
        seen.push(status);
    }
    assert_eq!(seen.first(), Some(&100), "on connect, the state then");
    assert_eq!(seen.last(), Some(&999), "the stream ends after delivery");
    assert!(
        seen.windows(2).all(|w| stage(w[0]) < stage(w[1])),
        "never back: {seen:?}"
    );
    assert_eq!(seen, STAGES, "each change of the view, once");

    // Coming back after the end: nothing more will come, and the browser is told not to retry.
    let again = customer
        .stream(&path, Some(&last_id.to_string()))
        .await
        .expect("an answer");
    assert_eq!(again.status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread")]
async fn reconnecting_with_the_last_event_id_misses_and_repeats_nothing() {
    let broker = Broker::start();
    let (shop, _services, base) = shop(&broker, &[]).await;
    let customer = Customer::login(&base, "Ann").await.expect("login");
    let order_id = customer.order().await.expect("order");
    let path = format!("/api/orders/{order_id}/events");
    let mut stream = customer.stream(&path, None).await.expect("stream");
    let first = next(&mut stream).await.expect("the state on connect");
    let second = next(&mut stream).await.expect("the next change");
    assert_eq!(
        (
            first.json()["status"].as_i64(),
            second.json()["status"].as_i64()
        ),
        (Some(100), Some(200))
    );
    drop(stream);

    // Away while the pizza bakes and is delivered.
    shop.wait_for_status(&order_id, 999, PATIENCE)
        .await
        .expect("delivered");
    let mut resumed = customer
        .stream(&path, second.id.as_deref())
        .await
        .expect("stream");
    let mut after = Vec::new();
    while let Some(event) = next(&mut resumed).await {
        after.push(event.json()["status"].as_i64().unwrap_or_default());
    }
    assert_eq!(after, [300, 999], "what changed while away, and only that");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_panel_and_my_orders_follow_by_push() {
    let broker = Broker::start();
    let (_shop, _services, base) = shop(&broker, &[]).await;
    let customer = Customer::login(&base, "Ann").await.expect("login");
    let mut mine = customer
        .stream("/api/orders/events", None)
        .await
        .expect("stream");
    let order_id = customer.order().await.expect("order");
    let mut logs = customer
        .stream(&format!("/orders/{order_id}/logs/events"), None)
        .await
        .expect("stream");
    let snapshot = next(&mut logs).await.expect("the entries so far");
    assert_eq!(snapshot.event.as_deref(), Some("snapshot"));
    let mut entries: Vec<String> = snapshot.json()["all"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    while !entries
        .iter()
        .any(|e| e.contains("delivered to customer_id"))
    {
        let event = next(&mut logs).await.expect("a new entry");
        assert_eq!(event.event.as_deref(), Some("entry"));
        let entry = event.json().as_str().map(str::to_owned).expect("an entry");
        assert!(
            entry.contains(&format!("'{order_id}'"))
                || entry.contains(&format!(" - Key: {order_id}")),
            "only this order's entries: {entry}"
        );
        entries.push(entry);
    }
    let services: std::collections::BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e.strip_prefix('(')?.split(')').next())
        .collect();
    assert_eq!(
        services.len(),
        5,
        "every service's entries came: {services:?}"
    );

    let mut statuses = Vec::new();
    while statuses.last() != Some(&999) {
        let event = next(&mut mine).await.expect("a change of my orders");
        if event.json()["order_id"] == order_id.as_str() {
            statuses.push(event.json()["status"].as_i64().unwrap_or_default());
        }
    }
    assert!(
        statuses.len() >= 3,
        "My orders saw the order change: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_are_capped_per_customer_and_per_instance_and_freed_when_a_browser_goes() {
    let broker = Broker::start();
    let (_shop, _services, base) = shop(
        &broker,
        &[
            ("webapp", "max_streams_per_customer", "2"),
            ("webapp", "max_streams", "3"),
        ],
    )
    .await;
    let ann = Customer::login(&base, "Ann").await.expect("login");
    let bob = Customer::login(&base, "Bob").await.expect("login");
    let cat = Customer::login(&base, "Cat").await.expect("login");
    let order = ann.order().await.expect("order");
    let path = format!("/api/orders/{order}/events");
    let open = |customer: &Customer, path: &str| {
        let (customer, path) = (customer.clone(), path.to_owned());
        async move { customer.stream(&path, None).await.expect("an answer") }
    };
    let first = open(&ann, &path).await;
    let _second = open(&ann, "/api/orders/events").await;
    assert_eq!(
        (first.status, _second.status),
        (StatusCode::OK, StatusCode::OK)
    );
    let third = open(&ann, "/api/orders/events").await;
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a third for one customer"
    );
    let _bobs = open(&bob, "/api/orders/events").await;
    assert_eq!(_bobs.status, StatusCode::OK);
    let full = open(&cat, "/api/orders/events").await;
    assert_eq!(
        full.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the instance is full"
    );
    let page = cat.page("/api/orders/events").await.expect("a page");
    assert!(page.contains("too many orders"), "{page}");

    // A browser that goes away leaves nothing behind: its place is free again.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let retry = open(&cat, "/api/orders/events").await;
        if retry.status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream was never let go"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_open_streams_and_the_web_app_within_five_seconds() {
    let broker = Broker::start();
    let (_shop, mut services, base) = shop(&broker, &[]).await;
    let customer = Customer::login(&base, "Ann").await.expect("login");
    let order = customer.order().await.expect("order");
    let mut streams = Vec::new();
    for path in [
        format!("/api/orders/{order}/events"),
        format!("/orders/{order}/logs/events"),
        "/api/orders/events".to_owned(),
    ] {
        let mut stream = customer.stream(&path, None).await.expect("stream");
        assert!(next(&mut stream).await.is_some(), "{path} is open");
        streams.push(stream);
    }
    let web = services.last_mut().expect("the web app");
    // Each stream is read to its end while the web app shuts down: the server ends it properly
    // (its last chunk), rather than the connection breaking off when the process goes.
    let reading = async {
        let mut ends = Vec::new();
        for stream in &mut streams {
            let end = tokio::time::timeout(Duration::from_secs(5), stream.to_its_end()).await;
            ends.push(end.map_err(|_| "still open 5 s after SIGTERM".to_owned()));
        }
        ends
    };
    let ((status, took), ends) = tokio::join!(web.stop(), reading);
    assert!(status.success(), "exit {status}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    for end in ends {
        assert!(matches!(end, Ok(Ok(_))), "a stream ended properly: {end:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_postgresql_a_stream_on_one_web_app_follows_an_order_placed_on_another() {
    let broker = Broker::start();
    let server = Postgres::shared();
    let database = server.database(&fresh_name("push"));
    let store = [
        ("state-store-orders", "db_module_class", "postgres"),
        ("state-store-orders", "name", database.as_str()),
        ("state-store-delivery", "db_module_class", "postgres"),
        ("state-store-delivery", "name", database.as_str()),
        ("simulation", "time_scale", "0.2"),
    ];
    let shop = Shop::open(&broker, &store).await;
    let _kitchen = shop.start_pipeline();
    let key = "3c".repeat(64);
    let env = [("PIZZA_SESSION_KEY", key.as_str())];
    let a = shop.start_with(ServiceName::Webapp, "a", &env);
    let b = shop.start_with(ServiceName::Webapp, "b", &env);
    let (on_a, on_b) = (a.web_address().await, b.web_address().await);
    let customer = Customer::login(&on_a, "Ann").await.expect("login");
    let order_id = customer.order().await.expect("order");
    let mut stream = customer
        .at(&on_b)
        .stream(&format!("/api/orders/{order_id}/events"), None)
        .await
        .expect("stream");
    assert_eq!(stream.status, StatusCode::OK);
    let mut seen = Vec::new();
    while let Some(event) = next(&mut stream).await {
        seen.push(event.json()["status"].as_i64().unwrap_or_default());
    }
    assert_eq!(seen, STAGES);
}

/// Logs in with a plain client and returns the session cookie (`name=value`), so a test can
/// alter it.
async fn session_cookie(base: &str, username: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client
        .post(format!("{base}/login"))
        .form(&[("username", username)])
        .send()
        .await
        .expect("login");
    response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// What `cookie` gets for `path`: the status and the body (a stream is read for a moment).
async fn with_cookie(base: &str, path: &str, cookie: &str) -> (StatusCode, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client
        .get(format!("{base}{path}"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .expect("an answer");
    let status = response.status();
    let body = tokio::time::timeout(Duration::from_secs(2), response.text())
        .await
        .map(|text| text.unwrap_or_default())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_customer_sees_nothing_of_the_first_on_any_stream_or_page() {
    let broker = Broker::start();
    let (shop, _services, base) = shop(&broker, &[]).await;
    let ann = Customer::login(&base, "Ann").await.expect("login");
    let bob = Customer::login(&base, "Bob").await.expect("login");
    // Bob follows his orders (and, through the log panel, his own order) before Ann orders.
    let mut bobs_orders = bob
        .stream("/api/orders/events", None)
        .await
        .expect("stream");
    let bobs_id = bob.order().await.expect("Bob's order");
    let mut bobs_logs = bob
        .stream(&format!("/orders/{bobs_id}/logs/events"), None)
        .await
        .expect("stream");
    let anns_id = ann.order().await.expect("Ann's order");
    let mut anns_stream = ann
        .stream(&format!("/api/orders/{anns_id}/events"), None)
        .await
        .expect("stream");

    // Until Ann's order is delivered (seen on her stream), nothing of hers reaches Bob's.
    let mut anns_last = 0;
    let mut bobs_last = 0;
    let mut bob_saw: Vec<String> = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while anns_last != 999 || bobs_last != 999 {
        assert!(Instant::now() < deadline, "both orders delivered in time");
        tokio::select! {
            event = next(&mut anns_stream), if anns_last != 999 => {
                anns_last = event.expect("Ann's order").json()["status"].as_i64().unwrap_or_default();
            }
            event = next(&mut bobs_orders) => {
                let json = event.expect("Bob's orders").json();
                if json["order_id"] == bobs_id.as_str() {
                    bobs_last = json["status"].as_i64().unwrap_or_default();
                }
                bob_saw.push(json.to_string());
            }
            Some(event) = bobs_logs.next() => {
                bob_saw.push(event.data);
            }
        }
    }
    // The last entries of Bob's log panel, written around Ann's delivery.
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(2), bobs_logs.next()).await
    {
        bob_saw.push(event.data);
    }
    assert!(
        bob_saw.iter().any(|e| e.contains(&bobs_id)),
        "Bob's streams carried his own order"
    );
    let leaked: Vec<&String> = bob_saw.iter().filter(|e| e.contains(&anns_id)).collect();
    assert!(
        leaked.is_empty(),
        "Ann's order on Bob's streams: {leaked:?}"
    );

    // Every page and stream about Ann's order answers Bob as if it did not exist.
    for path in [
        format!("/orders/{anns_id}"),
        format!("/orders/{anns_id}/logs"),
        format!("/orders/{anns_id}/logs/events"),
        format!("/api/orders/{anns_id}"),
        format!("/api/orders/{anns_id}/events"),
    ] {
        assert_eq!(
            bob.answer(&path).await.ok(),
            Some(StatusCode::NOT_FOUND),
            "{path}"
        );
    }
    // A search leads to the order's page (which answers 404 above), or answers 404 itself.
    let search = format!("/orders/search?order_id={anns_id}");
    let found = bob.answer(&search).await.ok();
    assert!(
        found == Some(StatusCode::SEE_OTHER) || found == Some(StatusCode::NOT_FOUND),
        "{search}: {found:?}"
    );
    let bobs_page = bob.page("/orders").await.expect("Bob's orders page");
    assert!(bobs_page.contains(&bobs_id) && !bobs_page.contains(&anns_id));

    // A cookie with one bit flipped, or sealed under another shop's key, is nobody's.
    let cookie = session_cookie(&base, "Eve").await;
    let (name, value) = cookie.split_once('=').expect("name=value");
    let mut bytes = value.as_bytes().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let flipped = format!("{name}={}", String::from_utf8_lossy(&bytes));
    let other = shop.start_with(
        ServiceName::Webapp,
        "other-shop",
        &[("PIZZA_SESSION_KEY", &"3c".repeat(64))],
    );
    let foreign = session_cookie(&other.web_address().await, "Ann").await;
    for cookie in [flipped, foreign] {
        for path in [
            format!("/orders/{anns_id}"),
            "/orders".to_owned(),
            format!("/api/orders/{anns_id}"),
            "/api/orders/events".to_owned(),
            format!("/orders/{anns_id}/logs/events"),
        ] {
            let (status, body) = with_cookie(&base, &path, &cookie).await;
            assert!(
                status == StatusCode::SEE_OTHER
                    || status == StatusCode::UNAUTHORIZED
                    || status == StatusCode::NOT_FOUND,
                "{path} with a forged cookie: {status}"
            );
            assert!(
                !body.contains(&anns_id),
                "{path} with a forged cookie: {body}"
            );
        }
    }
}
