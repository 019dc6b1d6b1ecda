//! A load generator that uses the shop the way customers do, over HTTP: log in, POST an order,
//! watch its JSON status until 999. Shared by the web load test and the benchmark.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

/// How a customer follows an order until it arrives.
#[derive(Debug, Clone, Copy)]
pub enum Follow {
    /// Reads `/api/orders/<id>` every so often.
    Poll(Duration),
    /// Holds the order's event stream open, as the order page does.
    Push,
}

/// How long one order may take before it counts as unfinished.
const ORDER_PATIENCE: Duration = Duration::from_secs(60);

/// What went wrong with one request.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The server answered 5xx.
    Server(StatusCode, String),
    /// Any other unexpected answer, or no answer.
    Other(String),
}

/// One logged-in customer: an HTTP client and the session cookie.
#[derive(Clone)]
pub struct Customer {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl std::fmt::Debug for Customer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Customer")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn check(response: &reqwest::Response, expected: StatusCode, what: &str) -> Result<(), Failure> {
    let status = response.status();
    if status == expected {
        Ok(())
    } else if status.is_server_error() {
        Err(Failure::Server(status, what.to_owned()))
    } else {
        Err(Failure::Other(format!("{what}: {status}")))
    }
}

fn transport(what: &str) -> impl Fn(reqwest::Error) -> Failure + '_ {
    move |error| Failure::Other(format!("{what}: {error}"))
}

impl Customer {
    pub async fn login(base: &str, username: &str) -> Result<Self, Failure> {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .map_err(transport("client"))?;
        let response = client
            .post(format!("{base}/login"))
            .form(&[("username", username)])
            .send()
            .await
            .map_err(transport("POST /login"))?;
        check(&response, StatusCode::SEE_OTHER, "POST /login")?;
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .ok_or_else(|| Failure::Other("login set no cookie".into()))?
            .to_owned();
        Ok(Self {
            client,
            base: base.to_owned(),
            cookie,
        })
    }

    /// Places an order; returns its id.
    pub async fn order(&self) -> Result<String, Failure> {
        let response = self
            .client
            .post(format!("{}/", self.base))
            .header(COOKIE, &self.cookie)
            .form(&[
                ("sauce", "Tomato"),
                ("cheese", "Mozzarella"),
                ("main_topping", "Pepperoni"),
                ("extra_topping", "Mushroom"),
                ("extra_topping", "Black olives"),
            ])
            .send()
            .await
            .map_err(transport("POST /"))?;
        check(&response, StatusCode::SEE_OTHER, "POST /")?;
        response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|location| location.strip_prefix("/orders/"))
            .map(str::to_owned)
            .ok_or_else(|| Failure::Other("POST / did not lead to the order".into()))
    }

    /// The order's status, from the JSON the order page polls.
    pub async fn status(&self, order_id: &str) -> Result<i64, Failure> {
        let what = "GET /api/orders/<id>";
        let response = self
            .client
            .get(format!("{}/api/orders/{order_id}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .map_err(transport(what))?;
        check(&response, StatusCode::OK, what)?;
        let body: serde_json::Value = response.json().await.map_err(transport(what))?;
        body["status"]
            .as_i64()
            .ok_or_else(|| Failure::Other(format!("{what}: no status in {body}")))
    }

    /// The same customer, signed in, at another web app of the shop (as a load balancer may send
    /// them).
    pub fn at(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    /// A GET of `path` at this customer's web app, with their session.
    fn signed_get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
    }

    /// The status code a GET of `path` answers.
    pub async fn answer(&self, path: &str) -> Result<StatusCode, Failure> {
        let response = self
            .signed_get(path)
            .send()
            .await
            .map_err(transport(path))?;
        Ok(response.status())
    }

    /// Opens a server-sent event stream (resuming after `last_event_id`, as a browser does when
    /// it reconnects).
    pub async fn stream(
        &self,
        path: &str,
        last_event_id: Option<&str>,
    ) -> Result<crate::sse::EventStream, Failure> {
        let mut request = self.signed_get(path).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.map_err(transport(path))?;
        Ok(crate::sse::EventStream::new(response))
    }

    /// The body a GET of `path` answers, whatever its status.
    pub async fn page(&self, path: &str) -> Result<String, Failure> {
        let response = self
            .signed_get(path)
            .send()
            .await
            .map_err(transport(path))?;
        response.text().await.map_err(transport(path))
    }

    /// The session cookie (`name=value`), for requests made by hand.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// Logs out with the navigation's form, sent from `origin` (the shop's own when `None`);
    /// the status the web app answers.
    pub async fn logout(&self, origin: Option<&str>) -> Result<StatusCode, Failure> {
        let response = self
            .client
            .post(format!("{}/logout", self.base))
            .header(COOKIE, &self.cookie)
            .header("origin", origin.unwrap_or(&self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .map_err(transport("/logout"))?;
        Ok(response.status())
    }

    /// GETs a page and checks it answers 200.
    pub async fn get(&self, path: &str) -> Result<(), Failure> {
        let response = self
            .signed_get(path)
            .send()
            .await
            .map_err(transport(path))?;
        check(&response, StatusCode::OK, path)?;
        response.bytes().await.map_err(transport(path))?;
        Ok(())
    }
}

/// What a run of orders measured.
#[derive(Debug, Default)]
pub struct OrderRun {
    /// The ids of the orders the shop accepted.
    pub placed: Vec<String>,
    pub post_latencies: Vec<Duration>,
    /// From just before the POST to the first poll that shows 999.
    pub delivered_latencies: Vec<Duration>,
    pub failures: Vec<Failure>,
    /// Orders placed that did not show 999 within a minute.
    pub unfinished: Vec<String>,
    pub elapsed: Duration,
}

impl OrderRun {
    fn merge(&mut self, other: OrderRun) {
        self.placed.extend(other.placed);
        self.post_latencies.extend(other.post_latencies);
        self.delivered_latencies.extend(other.delivered_latencies);
        self.failures.extend(other.failures);
        self.unfinished.extend(other.unfinished);
    }

    pub fn server_errors(&self) -> usize {
        self.failures
            .iter()
            .filter(|f| matches!(f, Failure::Server(..)))
            .count()
    }

    pub fn delivered(&self) -> usize {
        self.delivered_latencies.len()
    }

    pub fn per_second(&self) -> f64 {
        self.delivered() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One order from POST to 999, polling every `poll`.
async fn one_order(customer: &Customer, follow: Follow) -> OrderRun {
    let mut run = OrderRun::default();
    let started = Instant::now();
    let order_id = match customer.order().await {
        Ok(id) => id,
        Err(failure) => {
            run.failures.push(failure);
            return run;
        }
    };
    run.post_latencies.push(started.elapsed());
    run.placed.push(order_id.clone());
    let arrived = match follow {
        Follow::Poll(every) => polled_until_delivered(customer, &order_id, every, &mut run).await,
        Follow::Push => pushed_until_delivered(customer, &order_id, &mut run).await,
    };
    if arrived {
        run.delivered_latencies.push(started.elapsed());
    } else {
        run.unfinished.push(order_id);
    }
    run
}

async fn polled_until_delivered(
    customer: &Customer,
    order_id: &str,
    every: Duration,
    run: &mut OrderRun,
) -> bool {
    let started = Instant::now();
    loop {
        match customer.status(order_id).await {
            Ok(999) => return true,
            Ok(_) => {}
            Err(failure) => run.failures.push(failure),
        }
        if started.elapsed() > ORDER_PATIENCE {
            return false;
        }
        tokio::time::sleep(every).await;
    }
}

async fn pushed_until_delivered(customer: &Customer, order_id: &str, run: &mut OrderRun) -> bool {
    let path = format!("/api/orders/{order_id}/events");
    let mut stream = match customer.stream(&path, None).await {
        Ok(stream) if stream.status == StatusCode::OK => stream,
        Ok(stream) => {
            run.failures
                .push(Failure::Other(format!("{path}: {}", stream.status)));
            return false;
        }
        Err(failure) => {
            run.failures.push(failure);
            return false;
        }
    };
    let watched = async {
        while let Some(event) = stream.next().await {
            if event.json()["status"].as_i64() == Some(999) {
                return true;
            }
        }
        false
    };
    tokio::time::timeout(ORDER_PATIENCE, watched)
        .await
        .unwrap_or(false)
}

/// `customers` customers, each ordering one pizza after another (waiting for each to arrive)
/// for `duration`.
pub async fn closed_loop(
    base: &str,
    customers: usize,
    duration: Duration,
    follow: Follow,
) -> OrderRun {
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = (0..customers)
        .map(|n| {
            let base = base.to_owned();
            tokio::spawn(async move {
                let mut run = OrderRun::default();
                let customer = match Customer::login(&base, &format!("Customer{n}")).await {
                    Ok(customer) => customer,
                    Err(failure) => {
                        run.failures.push(failure);
                        return run;
                    }
                };
                while Instant::now() < until {
                    let order = one_order(&customer, follow).await;
                    if order.placed.is_empty() {
                        // A refused order: pause like a customer would, not a hot loop.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    run.merge(order);
                }
                run
            })
        })
        .collect();
    let mut total = OrderRun::default();
    for run in joined(tasks, "customer task").await {
        match run {
            Ok(run) => total.merge(run),
            Err(failure) => total.failures.push(failure),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// Orders at `per_second` on average, at random moments, whatever the shop's speed, each watched
/// until 999.
pub async fn paced(base: &str, per_second: f64, duration: Duration, poll: Duration) -> OrderRun {
    let started = Instant::now();
    let mut total = OrderRun::default();
    let customer = match Customer::login(base, "Steady").await {
        Ok(customer) => Arc::new(customer),
        Err(failure) => {
            total.failures.push(failure);
            return total;
        }
    };
    let mut tasks = Vec::new();
    let mut next = tokio::time::Instant::now();
    while started.elapsed() < duration {
        tokio::time::sleep_until(next).await;
        next += random_gap(per_second);
        let customer = customer.clone();
        tasks.push(tokio::spawn(async move {
            one_order(&customer, Follow::Poll(poll)).await
        }));
    }
    for run in joined(tasks, "order task").await {
        match run {
            Ok(run) => total.merge(run),
            Err(failure) => total.failures.push(failure),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// The time to the next order when orders come at random moments at `per_second` on average (a
/// Poisson process), as customers do: at fixed intervals the orders could line up with the
/// consumers' fetch cycles and measure one phase of them only.
fn random_gap(per_second: f64) -> Duration {
    let uniform: f64 = rand::random();
    Duration::from_secs_f64(-(1.0 - uniform).ln() / per_second)
}

/// What a run of reads measured.
#[derive(Debug, Default)]
pub struct ReadRun {
    pub latencies: Vec<Duration>,
    pub failures: Vec<Failure>,
    pub elapsed: Duration,
}

impl ReadRun {
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// `connections` readers GETting `path` back to back for `duration`.
pub async fn reads(
    customer: &Customer,
    path: &str,
    connections: usize,
    duration: Duration,
) -> ReadRun {
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (customer, path) = (customer.clone(), path.to_owned());
            tokio::spawn(async move {
                let mut run = ReadRun::default();
                while Instant::now() < until {
                    let sent = Instant::now();
                    match customer.get(&path).await {
                        Ok(()) => run.latencies.push(sent.elapsed()),
                        Err(failure) => run.failures.push(failure),
                    }
                }
                run
            })
        })
        .collect();
    let mut total = ReadRun::default();
    for run in joined(tasks, "reader task").await {
        match run {
            Ok(run) => {
                total.latencies.extend(run.latencies);
                total.failures.extend(run.failures);
            }
            Err(failure) => total.failures.push(failure),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// Waits for every task; one that panicked becomes a failure named after `what`.
async fn joined<T>(tasks: Vec<tokio::task::JoinHandle<T>>, what: &str) -> Vec<Result<T, Failure>> {
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(
            task.await
                .map_err(|error| Failure::Other(format!("{what}: {error}"))),
        );
    }
    results
}

/// The `p`-th percentile (0 to 100) of `samples`, or zero when there are none.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(51));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }
}
