//! `GET /metrics` on an address of its own, apart from the customers' port, on a task of its own.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Metrics;

/// What the log says once the listener is up, followed by its URL; the scripts and the tests
/// read the URL from there, since it may not be the configured one.
pub const URL_MARKER: &str = "Metrics at ";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("cannot tell which port the system chose")]
    LocalAddress(#[source] io::Error),
}

/// Listens on `address` (or, when it is taken, on a port the system chooses: a second instance
/// on one host must not die of it) and serves until `shutdown`. Returns where it listens.
pub async fn serve(
    address: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> Result<SocketAddr, ServeError> {
    let listener = match TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) if error.kind() == io::ErrorKind::AddrInUse && address.port() != 0 => {
            tracing::warn!(
                "Metrics address {address} is taken (another instance on this host?); serving them on a port the system chooses"
            );
            let any_port = SocketAddr::new(address.ip(), 0);
            TcpListener::bind(any_port)
                .await
                .map_err(|source| ServeError::Bind {
                    address: any_port,
                    source,
                })?
        }
        Err(source) => return Err(ServeError::Bind { address, source }),
    };
    let local = listener.local_addr().map_err(ServeError::LocalAddress)?;
    tracing::info!("{URL_MARKER}http://{local}/metrics");
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::warn!("Metrics listener stopped: {error}");
        }
    });
    Ok(local)
}

/// Prometheus says how long it waits for a page; the broker's figures get most of that, the
/// rest is for the page itself.
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
const DEFAULT_PATIENCE: Duration = Duration::from_secs(8);

fn patience(headers: &HeaderMap) -> Duration {
    headers
        .get(SCRAPE_TIMEOUT_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<f64>().ok())
        .and_then(|seconds| Duration::try_from_secs_f64(seconds * 0.8).ok())
        .map_or(DEFAULT_PATIENCE, |wait| wait.min(DEFAULT_PATIENCE))
}

async fn scrape(State(metrics): State<Arc<Metrics>>, headers: HeaderMap) -> Response {
    match metrics.scrape(patience(&headers)).await {
        Ok(page) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], page).into_response(),
        Err(std::fmt::Error) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get_page(address: SocketAddr) -> (String, String) {
        let answer = reqwest::get(format!("http://{address}/metrics"))
            .await
            .expect("answers");
        let kind = answer
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (kind, answer.text().await.expect("a body"))
    }

    #[test]
    fn the_broker_gets_most_of_the_time_prometheus_allows() {
        let mut headers = HeaderMap::new();
        assert_eq!(patience(&headers), DEFAULT_PATIENCE);
        headers.insert(SCRAPE_TIMEOUT_HEADER, "1".parse().expect("header"));
        assert_eq!(patience(&headers), Duration::from_millis(800));
        headers.insert(SCRAPE_TIMEOUT_HEADER, "60".parse().expect("header"));
        assert_eq!(patience(&headers), DEFAULT_PATIENCE);
        headers.insert(SCRAPE_TIMEOUT_HEADER, "soon".parse().expect("header"));
        assert_eq!(patience(&headers), DEFAULT_PATIENCE);
    }

    #[tokio::test]
    async fn a_taken_address_moves_to_a_port_of_the_systems_choosing() {
        let stop = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        metrics.consumed("pizza-baked");
        let first = serve(
            "127.0.0.1:0".parse().expect("address"),
            metrics.clone(),
            stop.clone(),
        )
        .await
        .expect("listens");
        assert_ne!(first.port(), 0);
        let second = serve(first, metrics.clone(), stop.clone())
            .await
            .expect("a second instance still serves");
        assert_ne!(second, first);
        for address in [first, second] {
            let (kind, page) = get_page(address).await;
            assert_eq!(kind, CONTENT_TYPE);
            assert!(page.contains(
                "messaging_client_consumed_messages_total{messaging_destination_name=\"pizza-baked\"} 1"
            ));
        }
        let other = reqwest::get(format!("http://{first}/"))
            .await
            .expect("answers");
        assert_eq!(other.status(), reqwest::StatusCode::NOT_FOUND);
        stop.cancel();
    }
}
