//! What the web app tells Prometheus besides the events it sends: how long each request took, by
//! method, route template and status, and how many live streams are open. A route is its
//! template (`/orders/{order_id}`), never the path asked for, and a method outside the standard
//! ones is `_OTHER`: every label has a handful of values, and none is an order or a customer.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A path no route matched: one value for all of them, whatever was asked for.
pub const UNMATCHED_ROUTE: &str = "other";

/// OpenTelemetry's default buckets for HTTP server durations.
const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    http_request_method: &'static str,
    http_route: String,
    http_response_status_code: u16,
}

/// Cheap to clone: every clone updates the same figures.
#[derive(Debug, Clone)]
pub struct WebMetrics {
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    streams_open: Gauge,
}

impl Default for WebMetrics {
    /// Counted but served nowhere until [`WebMetrics::register`]ed.
    fn default() -> Self {
        Self {
            requests: Family::new_with_constructor(duration_histogram),
            streams_open: Gauge::default(),
        }
    }
}

impl WebMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "http_server_request_duration_seconds",
            "Time to answer each request, until its answer's head (a stream's lifetime is not \
             counted), by method, route template and status",
            self.requests.clone(),
        );
        registry.register(
            "pizza_event_streams_open",
            "Server-sent event streams open now (order pages, order lists, log panels)",
            self.streams_open.clone(),
        );
    }

    /// The gauge the stream caps keep up to date.
    pub fn streams_open(&self) -> Gauge {
        self.streams_open.clone()
    }

    fn observe(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let labels = RequestLabels {
            http_request_method: method_label(method),
            http_route: route.to_owned(),
            http_response_status_code: status,
        };
        self.requests.get_or_create(&labels).observe(seconds);
    }
}

/// Any token is a method to hyper: only the standard ones become label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}

/// Runs after routing (a router's layers wrap each route), so the route template is known.
pub async fn record(State(metrics): State<WebMetrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(metrics: &WebMetrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut page = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut page, &registry)
            .expect("encodes");
        page
    }

    #[test]
    fn requests_are_counted_by_template_and_odd_methods_by_one_name() {
        let metrics = WebMetrics::default();
        metrics.observe(&Method::GET, "/orders/{order_id}", 200, 0.003);
        let odd = Method::from_bytes(b"BREW").expect("a token");
        metrics.observe(&odd, UNMATCHED_ROUTE, 404, 0.001);
        metrics.streams_open().inc();
        let page = page(&metrics);
        for line in [
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/orders/{order_id}\",http_response_status_code=\"200\"} 1",
            "http_server_request_duration_seconds_count{http_request_method=\"_OTHER\",http_route=\"other\",http_response_status_code=\"404\"} 1",
            "pizza_event_streams_open 1",
        ] {
            assert!(page.lines().any(|l| l == line), "{line:?} not in:\n{page}");
        }
        assert!(!page.contains("BREW"));
    }
}
