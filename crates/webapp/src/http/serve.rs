//! The accept loop: every connection gets a deadline for each request's head (which also closes a
//! connection left idle between requests, or one that never sends anything), and the number of
//! connections held at once is capped below the descriptor limit. Past the cap a new connection
//! is closed as soon as it is accepted, so the process never runs out of descriptors and the
//! clients already connected keep being served. A request's body has its own deadline
//! ([`super::deadline`]); a stream, once its answer has started, is bounded by the stream caps
//! instead and has no deadline.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::head_limits;

/// How often, at most, a refused connection is logged: a flood must not flood the log too.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(5);
/// A failed accept (out of descriptors, say) is retried after a pause instead of spinning.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// How long open connections get to finish once the web app is asked to stop.
const DRAIN: Duration = Duration::from_secs(4);

#[derive(Debug)]
pub struct ServeOptions {
    pub request_deadline: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown`, then lets open connections finish (streams
/// end by themselves on the same signal).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(options.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.request_deadline)
        // Above the shop's own limits, so an oversized head gets the shop's page.
        .max_buf_size(head_limits::HYPER_BUFFER_BYTES)
        .max_headers(head_limits::HYPER_HEADER_FIELDS);
    let mut refusals = Refusals::default();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                accept_failed(&error);
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            refusals.refused(options.max_connections);
            drop(stream);
            continue;
        };
        let connection = serve_one(builder.clone(), stream, router.clone(), shutdown.clone());
        tokio::spawn(async move {
            connection.await;
            drop(permit);
        });
    }
    let all = u32::try_from(options.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("Connections still open after {DRAIN:?}, closing them");
    }
}

async fn serve_one(
    builder: http1::Builder,
    stream: TcpStream,
    router: Router,
    shutdown: CancellationToken,
) {
    let connection =
        builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    // A deadline passed or the client went: the connection's business, not the shop's.
    if let Err(error) = outcome {
        tracing::debug!("Connection closed: {error}");
    }
}

fn accept_failed(error: &io::Error) {
    tracing::warn!("Cannot accept a connection: {error}");
}

/// Counts connections refused at the cap and logs them now and then.
#[derive(Default)]
struct Refusals {
    since_log: u64,
    logged_at: Option<Instant>,
}

impl Refusals {
    fn refused(&mut self, cap: usize) {
        self.since_log += 1;
        if self
            .logged_at
            .is_none_or(|at| at.elapsed() >= REFUSAL_LOG_EVERY)
        {
            tracing::warn!(
                "{} connection(s) closed at accept: {cap} already open ([webapp] max_connections)",
                self.since_log
            );
            self.since_log = 0;
            self.logged_at = Some(Instant::now());
        }
    }
}
