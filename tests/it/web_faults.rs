//! Faults as a customer meets them: ordering over HTTP, with no retry, while the broker restarts
//! and while the web app is killed (`kill -9`) and started again. Every order the customer was
//! told is placed (the redirect to its page) is delivered exactly once; every refusal is the
//! shop's own 503 page, never a 500, and no request hangs; once the broker is back, orders
//! are placed again within moments.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::domain::wiring::ServiceName;
use pizza_tests::settled;
use pizza_tests::{Broker, Service, Shop};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

/// Longer than the web app ever waits for the broker (`message.timeout.ms`, 10 s): an answer
/// that takes this long is a hang.
const HANG: Duration = Duration::from_secs(30);
const RECOVERY: Duration = Duration::from_secs(120);
/// An order sent while the broker is away is refused after `message.timeout.ms` (10 s), and a
/// loaded machine may take a few seconds more to say so.
const REFUSED_WITHIN: Duration = Duration::from_secs(20);
/// A client tries a broker that went away again at least once a second
/// (`reconnect.backoff.max.ms`), so orders are placed again within moments of its return.
const RESUMED_WITHIN: Duration = Duration::from_secs(5);
/// How long the test waits for what it set in motion itself: an order placed, one stored.
const PATIENCE: Duration = Duration::from_secs(30);

/// What one attempt to order got.
#[derive(Debug)]
enum Outcome {
    /// Redirected to the order's page: the customer was told it is placed.
    Placed(String),
    /// The shop's 503 page.
    Refused,
    /// No connection: the web app was not running.
    NotRunning,
    /// Connected, and the connection closed before an answer: the web app died while it was
    /// answering.
    Cut,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(HANG)
        .build()
        .expect("client")
}

/// A request that got no answer: whether the web app was there at all.
fn unanswered(error: &reqwest::Error, what: &str) -> Outcome {
    assert!(!error.is_timeout(), "{what} hung: {error}");
    if error.is_connect() {
        Outcome::NotRunning
    } else {
        Outcome::Cut
    }
}

/// A new customer, logged in: their client and session cookie.
async fn log_in(base: &str, n: usize) -> Result<(reqwest::Client, String), Outcome> {
    let client = client();
    let login = client
        .post(format!("{base}/login"))
        .form(&[("username", format!("C{n}"))])
        .send()
        .await
        .map_err(|error| unanswered(&error, "login"))?;
    assert_eq!(login.status(), StatusCode::SEE_OTHER, "login");
    let cookie = login
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    Ok((client, cookie))
}

/// A logged-in customer orders a pizza.
async fn order(base: &str, client: &reqwest::Client, cookie: &str) -> Outcome {
    let sent = client
        .post(format!("{base}/"))
        .header(reqwest::header::COOKIE, cookie)
        .form(&[
            ("sauce", "Tomato"),
            ("cheese", "Mozzarella"),
            ("main_topping", "Pepperoni"),
        ])
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => return unanswered(&error, "an order"),
    };
    let status = response.status();
    if status == StatusCode::SEE_OTHER {
        let id = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.strip_prefix("/orders/"))
            .expect("the order's page")
            .to_owned();
        return Outcome::Placed(id);
    }
    let body = response.text().await.unwrap_or_default();
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a refused order is a 503, never anything else: {body}"
    );
    assert!(
        body.contains("<html") && body.contains("Kitchen unavailable"),
        "the shop's own page: {body}"
    );
    Outcome::Refused
}

/// One new customer logs in and orders a pizza.
async fn order_once(base: &str, n: usize) -> Outcome {
    match log_in(base, n).await {
        Ok((client, cookie)) => order(base, &client, &cookie).await,
        Err(outcome) => outcome,
    }
}

/// Orders placed so far (and when), and how many were refused or got no answer.
#[derive(Debug, Default)]
struct Tally {
    placed: Vec<String>,
    placed_at: Vec<Instant>,
    refused: usize,
    not_running: usize,
    cut: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Placed(id) => {
                self.placed.push(id);
                self.placed_at.push(Instant::now());
            }
            Outcome::Refused => self.refused += 1,
            Outcome::NotRunning => self.not_running += 1,
            Outcome::Cut => self.cut += 1,
        }
    }

    fn placed_after(&self, at: Instant) -> usize {
        self.placed_at.iter().filter(|t| **t > at).count()
    }
}

/// Waits until `condition` holds of the tally; panics with `what` after `timeout`.
async fn until(
    tally: &Mutex<Tally>,
    timeout: Duration,
    what: &str,
    condition: impl Fn(&Tally) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        if condition(&tally.lock().expect("tally")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} within {timeout:?}: {:?}",
            tally.lock().expect("tally")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// New customers order one pizza each, every 100 ms, while `go_on` says so.
async fn place_while(base: &str, tally: &Mutex<Tally>, first: usize, go_on: impl Fn() -> bool) {
    let mut n = first;
    while go_on() {
        let outcome = order_once(base, n).await;
        tally.lock().expect("tally").add(outcome);
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every order the customers were told is placed reaches 999, once.
async fn delivered_once_each(shop: &Shop, tally: &Tally) {
    let lost = shop.wait_until_delivered(&tally.placed, RECOVERY).await;
    assert!(lost.is_empty(), "placed but never delivered: {lost:?}");
    let twice = settled::delivered_twice(shop, &tally.placed, Duration::from_secs(30)).await;
    assert!(twice.is_empty(), "delivered twice: {twice:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_ordering_through_a_broker_restart_lose_nothing_and_see_a_503_at_worst() {
    let broker = Broker::start_durable();
    let shop =
        Shop::open_with_kafka(&broker.kafka_ini(), &[("simulation", "time_scale", "0.1")]).await;
    let _kitchen = shop.start_pipeline();
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;

    let tally = Mutex::new(Tally::default());
    let warm = Instant::now() + Duration::from_secs(3);
    place_while(&base, &tally, 0, || Instant::now() < warm).await;
    let before = tally.lock().expect("tally").placed.len();
    assert!(before > 0, "orders placed before the restart");
    assert_eq!(
        tally.lock().expect("tally").refused,
        0,
        "orders refused with the broker up"
    );

    // Customers keep ordering while the broker stops and starts again. It stays away until an
    // order sent after it went has been answered: that order cannot be placed, so the outage
    // lasts as long as the web app takes to refuse it (`message.timeout.ms`), and no longer.
    let stop_ordering = AtomicBool::new(false);
    let ordering = place_while(&base, &tally, 1000, || {
        !stop_ordering.load(Ordering::Relaxed)
    });
    let restarting = async {
        until(
            &tally,
            PATIENCE,
            "an order placed as the outage starts",
            |t| t.placed.len() > before,
        )
        .await;
        let mut broker = broker;
        let mut broker = tokio::task::spawn_blocking(move || {
            broker.stop();
            broker
        })
        .await
        .expect("stopped");
        let gone = Instant::now();
        let probe = tokio::time::timeout(REFUSED_WITHIN, order_once(&base, 9999))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "an order sent with the broker away was not refused within {REFUSED_WITHIN:?}"
                )
            });
        let refused_after = gone.elapsed();
        assert!(
            matches!(probe, Outcome::Refused),
            "an order sent with the broker away: {probe:?}"
        );
        tally.lock().expect("tally").add(probe);
        let broker = tokio::task::spawn_blocking(move || {
            broker.start_again();
            broker
        })
        .await
        .expect("started again");
        let back = Instant::now();
        // A few orders after the return show the shop taking them again, not one that slipped
        // through.
        until(
            &tally,
            RESUMED_WITHIN + PATIENCE,
            "orders placed after the return",
            |t| t.placed_after(back) >= 3,
        )
        .await;
        stop_ordering.store(true, Ordering::Relaxed);
        (broker, back, refused_after)
    };
    let ((), (_broker, back, refused_after)) = tokio::join!(ordering, restarting);
    let tally = tally.into_inner().expect("tally");
    eprintln!(
        "broker restart: away {refused_after:?}; {} placed, {} refused, {} unanswered",
        tally.placed.len(),
        tally.refused,
        tally.not_running + tally.cut
    );
    assert_eq!(
        (tally.not_running, tally.cut),
        (0, 0),
        "every request is answered: the web app stays up while the broker is away"
    );
    let resumed = tally
        .placed_at
        .iter()
        .find(|at| **at > back)
        .map(|at| at.duration_since(back))
        .expect("orders placed after the restart");
    eprintln!("broker restart: orders placed again {resumed:?} after its return");
    assert!(
        resumed < RESUMED_WITHIN,
        "orders were placed again only {resumed:?} after the broker's return"
    );
    delivered_once_each(&shop, &tally).await;
}

/// Holds the broker (SIGSTOP) until dropped: an order the web app sends meanwhile waits for its
/// acknowledgement, so the web app is still answering it.
struct HeldBroker(u32);

impl HeldBroker {
    fn hold(broker: &Broker) -> Self {
        signal(broker.pid(), "STOP");
        Self(broker.pid())
    }
}

impl Drop for HeldBroker {
    fn drop(&mut self) {
        signal(self.0, "CONT");
    }
}

fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
}

/// Waits until the customer's orders page lists an order: the web app has stored it.
async fn until_stored(base: &str, client: &reqwest::Client, cookie: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let page = client
            .get(format!("{base}/orders"))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .expect("the orders page answers");
        if page
            .text()
            .await
            .unwrap_or_default()
            .contains("data-order-id=")
        {
            return;
        }
        assert!(Instant::now() < deadline, "the order was never stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_ordering_while_the_web_app_is_killed_and_restarted_lose_nothing() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "0.1")]).await;
    let _kitchen = shop.start_pipeline();
    let mut web: Service = shop.start(ServiceName::Webapp);
    let mut base = web.web_address().await;

    let tally = Mutex::new(Tally::default());
    let mut n = 0;
    for round in 0..3 {
        let killed = AtomicBool::new(false);
        let placed_before = tally.lock().expect("tally").placed.len();
        // Orders while the web app is killed: a load balancer would send them to another
        // instance; here they get no answer until it is started again.
        let ordering = async {
            loop {
                let outcome = order_once(&base, n).await;
                n += 1;
                let gone = killed.load(Ordering::Relaxed) && matches!(outcome, Outcome::NotRunning);
                tally.lock().expect("tally").add(outcome);
                if gone {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let killing = async {
            until(&tally, PATIENCE, "an order placed by this instance", |t| {
                t.placed.len() > placed_before
            })
            .await;
            // The kill lands while an order is being answered: with the broker held, a
            // customer's order is stored and waits for the broker's acknowledgement, and the web
            // app is killed then.
            let (client, cookie) = log_in(&base, 100_000 + round)
                .await
                .unwrap_or_else(|outcome| panic!("login: {outcome:?}"));
            let held = HeldBroker::hold(&broker);
            let answering = order(&base, &client, &cookie);
            let killing = async {
                until_stored(&base, &client, &cookie).await;
                web.kill();
                killed.store(true, Ordering::Relaxed);
                drop(held);
            };
            let (mid_answer, ()) = tokio::join!(answering, killing);
            assert!(
                matches!(mid_answer, Outcome::Cut),
                "round {round}: the order being answered when the web app was killed: \
                 {mid_answer:?}"
            );
            tally.lock().expect("tally").add(mid_answer);
        };
        tokio::join!(ordering, killing);
        web = shop.start(ServiceName::Webapp);
        base = web.web_address().await;
        let tally = tally.lock().expect("tally");
        eprintln!(
            "web app killed, round {round}: {} placed, {} cut off, {} not running so far",
            tally.placed.len(),
            tally.cut,
            tally.not_running
        );
    }
    // The last instance takes orders too.
    let placed_before = tally.lock().expect("tally").placed.len();
    let go_on = AtomicBool::new(true);
    let ordering = place_while(&base, &tally, n, || go_on.load(Ordering::Relaxed));
    let waiting = async {
        until(
            &tally,
            PATIENCE,
            "an order placed by the last instance",
            |t| t.placed.len() > placed_before,
        )
        .await;
        go_on.store(false, Ordering::Relaxed);
    };
    tokio::join!(ordering, waiting);
    let tally = tally.into_inner().expect("tally");
    assert_eq!(
        tally.refused, 0,
        "an order refused: the broker was up, and a killed web app does not answer"
    );
    delivered_once_each(&shop, &tally).await;
}
