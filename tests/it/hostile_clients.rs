//! Clients that do not behave: connections that send slowly or nothing, more connections than
//! the web app may hold, cookies kept after logout, another site logging a customer out, names
//! that hide or break text, a `Last-Event-ID` from nowhere, one customer hammering the log panel.
//! Real services on a real broker, over TCP.

use std::time::{Duration, Instant};

use common::domain::wiring::ServiceName;
use pizza_tests::gate;
use pizza_tests::loadgen::{percentile, Customer};
use pizza_tests::postgres::{fresh_name, Postgres};
use pizza_tests::{Broker, Service, Shop};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The deadline the tests configure, short so a test takes seconds.
const DEADLINE: Duration = Duration::from_secs(2);
/// How long past the deadline a connection may linger before it counts as never closed: the
/// timer's granularity and a busy machine.
const SLACK: Duration = Duration::from_secs(4);

async fn web_app(broker: &Broker, edits: &[(&str, &str, &str)]) -> (Shop, Service, String) {
    let mut all = vec![("webapp", "request_deadline_seconds", "2")];
    all.extend_from_slice(edits);
    let shop = Shop::open(broker, &all).await;
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;
    (shop, web, base)
}

fn host(base: &str) -> &str {
    base.trim_start_matches("http://")
}

/// How a connection ended, as [`exchange`] saw it.
#[derive(Debug)]
struct Exchange {
    /// How long until the web app closed the connection; `None` if it was still open.
    closed_after: Option<Duration>,
    /// What the web app answered meanwhile.
    answer: String,
}

/// Sends `script` one byte every `every` (then nothing) and reads what comes back, until the web
/// app closes the connection or `patience` has passed.
async fn exchange(
    base: &str,
    head: &[u8],
    script: &[u8],
    every: Duration,
    patience: Duration,
) -> Exchange {
    let mut stream = TcpStream::connect(host(base)).await.expect("connect");
    let started = Instant::now();
    // A connection closed at once (past the cap) may be gone before the head is.
    if stream.write_all(head).await.is_err() {
        return Exchange {
            closed_after: Some(started.elapsed()),
            answer: String::new(),
        };
    }
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut next = 0;
    let ended = |closed_after, answer: &[u8]| Exchange {
        closed_after,
        answer: String::from_utf8_lossy(answer).into_owned(),
    };
    loop {
        if started.elapsed() > patience {
            return ended(None, &answer);
        }
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return ended(Some(started.elapsed()), &answer),
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            },
            () = tokio::time::sleep(every) => {
                if let Some(byte) = script.get(next) {
                    next += 1;
                    if stream.write_all(&[*byte]).await.is_err() {
                        return ended(Some(started.elapsed()), &answer);
                    }
                }
            }
        }
    }
}

/// [`exchange`], for a connection the web app must close: how long that took and what it
/// answered, or `None` if it was still open after `patience`.
async fn until_closed(
    base: &str,
    head: &[u8],
    script: &[u8],
    every: Duration,
    patience: Duration,
) -> Option<(Duration, String)> {
    let ended = exchange(base, head, script, every, patience).await;
    ended.closed_after.map(|took| (took, ended.answer))
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_silent_and_idle_connections_are_closed_by_their_deadline() {
    let broker = Broker::start();
    let (_shop, _web, base) = web_app(&broker, &[]).await;
    let patience = DEADLINE + SLACK;
    let trickle = Duration::from_millis(250);

    let silent = until_closed(&base, b"", b"", trickle, patience).await;
    let (took, _) = silent.expect("a connection that sends nothing is closed");
    assert!(took >= DEADLINE - Duration::from_millis(500), "{took:?}");

    // A head that never ends, a byte at a time (a header line every couple of seconds).
    let endless: Vec<u8> = b"X-Slow: y\r\n".repeat(40);
    let slow_head = until_closed(
        &base,
        b"GET /health-check HTTP/1.1\r\nHost: x\r\n",
        &endless,
        trickle,
        patience,
    )
    .await;
    assert!(
        slow_head.is_some(),
        "a head sent a byte at a time is cut off"
    );

    // A body announced and then not sent: a 408 page, and the connection goes.
    let slow_body = until_closed(
        &base,
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 200\r\n\r\nusername=A",
        b"nn",
        trickle,
        patience,
    )
    .await;
    let (took, answer) = slow_body.expect("a stalled body is cut off");
    assert!(took >= DEADLINE - Duration::from_millis(500), "{took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("Request Timeout"), "{answer}");

    // A connection kept open after its answer, and then left idle.
    let idle = until_closed(
        &base,
        b"GET /health-check HTTP/1.1\r\nHost: x\r\n\r\n",
        b"",
        trickle,
        patience,
    )
    .await;
    let (_, answer) = idle.expect("an idle kept-alive connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A customer who sends their request in one go is not held to anything, and a stream, once
    // answered, stays open past the deadline (the kitchen is not running: the order stays
    // placed and its stream open).
    let customer = Customer::login(&base, "Ann").await.expect("login");
    customer.get("/").await.expect("the menu");
    let order_id = customer.order().await.expect("order");
    let head = format!(
        "GET /api/orders/{order_id}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\
         Cookie: {}\r\n\r\n",
        customer.cookie()
    );
    let stream = exchange(&base, head.as_bytes(), b"", trickle, DEADLINE * 3).await;
    assert!(
        stream.closed_after.is_none(),
        "a stream was cut off: {stream:?}"
    );
    // Open because it was answered, not because the request is still waiting: the head and
    // the order's first event came.
    let answer = &stream.answer;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the stream was not answered: {stream:?}"
    );
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{stream:?}"
    );
    assert!(
        answer.contains("data:") && answer.contains(&order_id),
        "the order's first event: {stream:?}"
    );
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// What a request on a connection of its own gets: the status line, or `None` if the web app
/// closed the connection without answering. A client's kept-alive connection already holds a
/// place, so it would say nothing of the places left.
async fn on_a_new_connection(base: &str) -> Option<String> {
    let ended = exchange(
        base,
        b"GET /health-check HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
        Duration::from_millis(100),
        DEADLINE + SLACK,
    )
    .await;
    assert!(
        ended.closed_after.is_some(),
        "a request with Connection: close left open: {ended:?}"
    );
    ended.answer.lines().next().map(str::to_owned)
}

/// How many of `held` the web app has closed (an end of stream or a reset when read).
fn closed_by_the_web_app(held: &[TcpStream]) -> usize {
    let mut buffer = [0u8; 64];
    held.iter()
        .filter(|stream| match stream.try_read(&mut buffer) {
            Ok(0) => true,
            Ok(_) => false,
            Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_past_the_cap_are_shed_without_running_out_of_descriptors() {
    const CAP: usize = 40;
    const HALF_OPEN: usize = 300;
    let broker = Broker::start();
    let cap = CAP.to_string();
    let (_shop, web, base) = web_app(&broker, &[("webapp", "max_connections", &cap)]).await;
    assert_eq!(
        on_a_new_connection(&base).await.as_deref(),
        Some("HTTP/1.1 200 OK"),
        "served before the flood"
    );
    let before = open_descriptors(web.pid());

    let mut held = Vec::new();
    let mut most = before;
    for _ in 0..HALF_OPEN {
        if let Ok(mut stream) = TcpStream::connect(host(&base)).await {
            let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
            held.push(stream);
        }
        most = most.max(open_descriptors(web.pid()));
    }
    let flooded = Instant::now();
    // The cap is reached: the places are held by the flood's newest connections until their
    // deadline, and a request of a customer who comes now is closed unanswered.
    let refused = on_a_new_connection(&base).await;
    assert_eq!(refused, None, "served with every place taken");
    // Every connection has been accepted once the web app has closed all it did not keep.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        most = most.max(open_descriptors(web.pid()));
        let closed = closed_by_the_web_app(&held);
        if closed >= held.len().saturating_sub(CAP) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {closed} of the {} half-sent requests past the cap were closed",
            held.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        most <= before + CAP + 2,
        "{HALF_OPEN} half-sent requests took the web app from {before} to {most} descriptors \
         (cap {CAP})"
    );
    web.wait_for_log("closed at accept", Duration::from_secs(10))
        .await;

    // Once their deadline has passed, the places are free again for customers.
    loop {
        match on_a_new_connection(&base).await.as_deref() {
            Some("HTTP/1.1 200 OK") => break,
            other => assert!(
                flooded.elapsed() < DEADLINE + SLACK,
                "no place freed after the deadline: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cookie_used_after_logout_is_refused_on_every_web_app() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    logout_ends_the_session_everywhere(&shop, &[]).await;
}

/// Two hosts' web apps on one PostgreSQL, sharing their session key through the environment.
#[tokio::test(flavor = "multi_thread")]
async fn with_postgresql_a_cookie_used_after_logout_is_refused_on_every_web_app() {
    let broker = Broker::start();
    let server = Postgres::shared();
    let database = server.database(&fresh_name("logout"));
    let shop = Shop::open(
        &broker,
        &[
            ("state-store-orders", "db_module_class", "postgres"),
            ("state-store-orders", "name", database.as_str()),
        ],
    )
    .await;
    let key = "5e".repeat(64);
    logout_ends_the_session_everywhere(&shop, &[("PIZZA_SESSION_KEY", key.as_str())]).await;
}

async fn logout_ends_the_session_everywhere(shop: &Shop, env: &[(&str, &str)]) {
    let first = shop.start_with(ServiceName::Webapp, "a", env);
    let second = shop.start_with(ServiceName::Webapp, "b", env);
    let (a, b) = (first.web_address().await, second.web_address().await);
    let ann = Customer::login(&a, "Ann").await.expect("login");
    let ann_at_b = ann.at(&b);
    assert_eq!(ann_at_b.answer("/orders").await.ok(), Some(StatusCode::OK));

    // Another site cannot log Ann out: not with a form, not with a link.
    let refused = ann
        .logout(Some("http://evil.example"))
        .await
        .expect("answer");
    assert_eq!(refused, StatusCode::FORBIDDEN);
    assert_eq!(
        ann.answer("/logout").await.ok(),
        Some(StatusCode::METHOD_NOT_ALLOWED)
    );
    assert_eq!(ann.answer("/orders").await.ok(), Some(StatusCode::OK));

    assert_eq!(ann.logout(None).await.ok(), Some(StatusCode::SEE_OTHER));
    for (web, replayed) in [("the first", &ann), ("the second", &ann_at_b)] {
        assert_eq!(
            replayed.answer("/orders").await.ok(),
            Some(StatusCode::SEE_OTHER),
            "the cookie, replayed after logout on {web} web app, still reads the orders"
        );
        assert_eq!(
            replayed.answer("/api/orders/events").await.ok(),
            Some(StatusCode::SEE_OTHER),
            "nor does it open a stream on {web} web app"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn names_that_hide_or_break_text_and_ids_from_nowhere_are_refused() {
    let broker = Broker::start();
    let (_shop, _web, base) = web_app(&broker, &[]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for (name, body) in [
        ("right-to-left override", &b"username=Ann%E2%80%AEnnA"[..]),
        ("line separator", b"username=Ann%E2%80%A8x"),
        ("paragraph separator", b"username=Ann%E2%80%A9x"),
        ("zero-width space", b"username=A%E2%80%8Bnn"),
        ("not UTF-8", b"username=Ann%FF"),
        ("not UTF-8, unescaped", b"username=Ann\xff"),
    ] {
        let response = client
            .post(format!("{base}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let page = response.text().await.expect("page");
        assert!(
            page.contains("<h1>Bad Request</h1>") && page.contains("username"),
            "{name}: {page}"
        );
    }

    let ann = Customer::login(&base, "Ann").await.expect("login");
    let order_id = ann.order().await.expect("order");
    let path = format!("/api/orders/{order_id}/events");
    let mut stream = ann.stream(&path, Some("999999999")).await.expect("stream");
    assert_eq!(stream.status, StatusCode::OK);
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an id past the newest change is treated as absent: the order at once")
        .expect("an event");
    assert_eq!(first.json()["order_id"], order_id.as_str());
}

/// Filler for each service's log: what a shop that has run for a while has written.
fn fill_logs(shop: &Shop, bytes_each: usize) {
    let dir = shop.path().join("logs");
    std::fs::create_dir_all(&dir).expect("logs folder");
    let line = "(assemble) INFO 00:00:00.000 - Preparing order 'ffffffff', assembling time is 4 second(s)\n";
    let text = line.repeat(bytes_each / line.len());
    for service in ServiceName::ALL {
        std::fs::write(dir.join(format!("{service}.log")), &text).expect("filler");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_customer_hammering_the_log_panel_does_not_slow_another() {
    /// Generous for a 2-core machine; an unshared log panel costs tens of milliseconds per read,
    /// and eight readers at once made the order's JSON wait.
    const P99_BOUND: Duration = Duration::from_millis(250);
    // A percentile of a loaded machine would measure the other tests' services too.
    let _alone = gate::alone();
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    fill_logs(&shop, 4 * 1024 * 1024);
    let _kitchen = shop.start_pipeline();
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;
    let ann = Customer::login(&base, "Ann").await.expect("login");
    let eve = Customer::login(&base, "Eve").await.expect("login");
    let ann_order = ann.order().await.expect("order");
    let eve_order = eve.order().await.expect("order");

    let until = Instant::now() + Duration::from_secs(10);
    let hammer: Vec<_> = (0..8)
        .map(|_| {
            let (eve, path) = (eve.clone(), format!("/orders/{eve_order}/logs"));
            tokio::spawn(async move {
                let (mut answered, mut refused) = (0usize, 0usize);
                while Instant::now() < until {
                    match eve.answer(&path).await {
                        Ok(StatusCode::OK) => answered += 1,
                        Ok(StatusCode::TOO_MANY_REQUESTS) => refused += 1,
                        other => panic!("the log panel answered {other:?}"),
                    }
                }
                (answered, refused)
            })
        })
        .collect();
    let mut samples = Vec::new();
    let path = format!("/api/orders/{ann_order}");
    while Instant::now() < until {
        let started = Instant::now();
        assert_eq!(ann.answer(&path).await.ok(), Some(StatusCode::OK));
        samples.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut answered, mut refused) = (0, 0);
    for task in hammer {
        let (a, r) = task.await.expect("hammer");
        answered += a;
        refused += r;
    }
    let p99 = percentile(&samples, 99.0);
    println!(
        "log panel: {answered} answered, {refused} refused (429); order JSON: {} reads, p50 {:?}, \
         p99 {p99:?}",
        samples.len(),
        percentile(&samples, 50.0)
    );
    assert!(
        refused > 0,
        "one customer's share of the log panel is bounded"
    );
    let panel = format!("/orders/{eve_order}/logs");
    let mut page = String::new();
    for _ in 0..100 {
        page = eve.page(&panel).await.expect("page");
        if page.contains("<title>Pizza Demo | Too Many Requests</title>") {
            break;
        }
    }
    assert!(
        page.contains("<title>Pizza Demo | Too Many Requests</title>")
            && page.contains("too often"),
        "a clear 429 page: {page}"
    );
    assert!(
        p99 < P99_BOUND,
        "the order's JSON took {p99:?} at p99 (bound {P99_BOUND:?}) while another customer \
         hammered the log panel"
    );
}

/// Sends `head` whole and reads the answer until the web app closes the connection.
async fn answer_to(base: &str, head: &[u8]) -> String {
    let (_, answer) = until_closed(
        base,
        head,
        b"",
        Duration::from_millis(100),
        DEADLINE + SLACK,
    )
    .await
    .expect("the connection is closed after the answer");
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_heads_get_the_shops_error_pages() {
    let broker = Broker::start();
    let (_shop, _web, base) = web_app(&broker, &[]).await;
    let html = |answer: &str, status: &str, title: &str| {
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer:.300}"
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: text/html"),
            "{answer:.300}"
        );
        // The shop's page, not hyper's own plain and empty answer.
        let shop_title = format!("<title>Pizza Demo | {title}</title>");
        assert!(answer.contains(&shop_title), "{answer:.300}");
    };

    // Past the shop's cap on the target, below hyper's own.
    let long = format!(
        "GET /orders/search?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(65_000)
    );
    html(
        &answer_to(&base, long.as_bytes()).await,
        "414",
        "Request-URI Too Long",
    );

    let many: String = (0..101).map(|n| format!("X-Field-{n}: y\r\n")).collect();
    let many = format!("GET /health-check HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    html(
        &answer_to(&base, many.as_bytes()).await,
        "431",
        "Request Header Fields Too Large",
    );

    let large = format!(
        "GET /health-check HTTP/1.1\r\nHost: x\r\nX-Large: {}\r\n\r\n",
        "b".repeat(420_000)
    );
    html(
        &answer_to(&base, large.as_bytes()).await,
        "431",
        "Request Header Fields Too Large",
    );

    // Just inside the limits, a request is served as before.
    let fields: String = (0..90).map(|n| format!("X-Field-{n}: y\r\n")).collect();
    let inside = format!(
        "GET /health-check?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{fields}\r\n",
        "a".repeat(60_000)
    );
    let answer = answer_to(&base, inside.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
}
