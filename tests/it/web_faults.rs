//! Faults as a customer meets them: ordering over HTTP, with no retry, while the broker restarts
//! and while the web app is killed (`kill -9`) and started again. Every order the customer was
//! told is placed (the redirect to its page) is delivered exactly once; every refusal is the
//! shop's own 503 page, never a 500, and no request hangs; once the broker is back, orders
//! are placed again within moments.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::domain::wiring::ServiceName;
use pizza_tests::settled;
use pizza_tests::{Broker, Service, Shop};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use tokio::sync::Notify;

/// Longer than the web app ever waits for the broker (`message.timeout.ms`, 10 s): an answer
/// that takes this long is a hang.
const HANG: Duration = Duration::from_secs(30);
const RECOVERY: Duration = Duration::from_secs(120);
/// An order the broker does not take is refused after `message.timeout.ms` (10 s; about 15 s
/// when it was in flight as the broker went), and a loaded machine may take longer to say so.
const REFUSED_WITHIN: Duration = Duration::from_secs(25);
/// A client tries a broker that went away again at least once a second
/// (`reconnect.backoff.max.ms`), so orders are placed again within moments of its return.
const RESUMED_WITHIN: Duration = Duration::from_secs(5);

/// What one attempt to order got.
#[derive(Debug)]
enum Outcome {
    /// Redirected to the order's page: the customer was told it is placed.
    Placed(String),
    /// The shop's 503 page.
    Refused,
    /// No answer at all: the web app was not running.
    NoAnswer,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(HANG)
        .build()
        .expect("client")
}

/// One new customer logs in and orders a pizza.
async fn order_once(base: &str, n: usize) -> Outcome {
    let client = client();
    let login = match client
        .post(format!("{base}/login"))
        .form(&[("username", format!("C{n}"))])
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => {
            assert!(!error.is_timeout(), "login hung: {error}");
            return Outcome::NoAnswer;
        }
    };
    assert_eq!(login.status(), StatusCode::SEE_OTHER, "login");
    let cookie = login
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let sent = client
        .post(format!("{base}/"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[
            ("sauce", "Tomato"),
            ("cheese", "Mozzarella"),
            ("main_topping", "Pepperoni"),
        ])
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            assert!(!error.is_timeout(), "an order hung: {error}");
            return Outcome::NoAnswer;
        }
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

/// Orders placed so far (and when), and how many were refused or got no answer.
#[derive(Debug, Default)]
struct Tally {
    placed: Vec<String>,
    placed_at: Vec<Instant>,
    refused: usize,
    no_answer: usize,
    /// Wakes whoever waits for a refusal; one that came before the wait is kept for it.
    refusal: Arc<Notify>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Placed(id) => {
                self.placed.push(id);
                self.placed_at.push(Instant::now());
            }
            Outcome::Refused => {
                self.refused += 1;
                self.refusal.notify_one();
            }
            Outcome::NoAnswer => self.no_answer += 1,
        }
    }
}

/// New customers order one pizza each, every 100 ms, while `go_on` says so.
async fn place_while(base: &str, tally: &mut Tally, first: usize, go_on: impl Fn() -> bool) {
    let mut n = first;
    while go_on() {
        tally.add(order_once(base, n).await);
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

    let mut tally = Tally::default();
    let warm = Instant::now() + Duration::from_secs(3);
    place_while(&base, &mut tally, 0, || Instant::now() < warm).await;
    let before = tally.placed.len();
    assert_eq!(tally.refused, 0, "orders refused with the broker up");

    // Customers keep ordering while the broker stops, stays away until one of them has been
    // told the order was not placed, and starts again.
    let refusal = tally.refusal.clone();
    let stop_ordering = AtomicBool::new(false);
    let ordering = place_while(&base, &mut tally, 1000, || {
        !stop_ordering.load(Ordering::Relaxed)
    });
    let restarting = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut broker = broker;
        let mut broker = tokio::task::spawn_blocking(move || {
            broker.stop();
            broker
        })
        .await
        .expect("stopped");
        let gone = Instant::now();
        tokio::time::timeout(REFUSED_WITHIN, refusal.notified())
            .await
            .unwrap_or_else(|_| {
                panic!("no order was refused in the {REFUSED_WITHIN:?} the broker was away")
            });
        eprintln!(
            "broker restart: the first refusal came {:?} after it went",
            gone.elapsed()
        );
        let broker = tokio::task::spawn_blocking(move || {
            broker.start_again();
            broker
        })
        .await
        .expect("started again");
        let back = Instant::now();
        tokio::time::sleep(RESUMED_WITHIN + Duration::from_secs(5)).await;
        stop_ordering.store(true, Ordering::Relaxed);
        (broker, back)
    };
    let ((), (_broker, back)) = tokio::join!(ordering, restarting);
    eprintln!(
        "broker restart: {} placed, {} refused, {} unanswered",
        tally.placed.len(),
        tally.refused,
        tally.no_answer
    );
    assert!(before > 0, "orders placed before the restart");
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

#[tokio::test(flavor = "multi_thread")]
async fn customers_ordering_while_the_web_app_is_killed_and_restarted_lose_nothing() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "0.1")]).await;
    let _kitchen = shop.start_pipeline();
    let mut web: Service = shop.start(ServiceName::Webapp);
    let mut base = web.web_address().await;

    let mut tally = Tally::default();
    let mut n = 0;
    for round in 0..3 {
        let until = Instant::now() + Duration::from_secs(3);
        // Orders while the web app is killed: a load balancer would send them to another
        // instance; here they get no answer, or the restarted instance's.
        let ordering = async {
            let mut outcomes = Vec::new();
            while Instant::now() < until {
                outcomes.push(order_once(&base, n).await);
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            outcomes
        };
        let killing = async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            web.kill();
        };
        let (outcomes, ()) = tokio::join!(ordering, killing);
        for outcome in outcomes {
            tally.add(outcome);
        }
        web = shop.start(ServiceName::Webapp);
        base = web.web_address().await;
        eprintln!(
            "web app killed, round {round}: {} placed, {} unanswered so far",
            tally.placed.len(),
            tally.no_answer
        );
    }
    assert!(tally.placed.len() > 3, "orders placed between the kills");
    delivered_once_each(&shop, &tally).await;
}
