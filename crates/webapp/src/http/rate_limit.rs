//! A customer's share of the web app: each may do a costly thing (place an order, read a log
//! panel) at a sustained rate, with a short burst allowed, so one customer cannot keep the
//! kitchen or the cores busy for everyone else. Past it they get a 429 page saying so.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::AppError;

/// Customers remembered at most; past it, those whose buckets have refilled are forgotten (they
/// would start full anyway), so memory stays bounded however many log in.
const REMEMBERED: usize = 10_000;

pub struct RateLimit {
    what: &'static str,
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("what", &self.what)
            .field("per_second", &self.per_second)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// `per_minute` sustained, with a burst of a tenth of it (at least 10).
    pub fn per_minute(what: &'static str, per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute);
        Self {
            what,
            per_second: per_minute / 60.0,
            burst: (per_minute / 10.0).max(10.0),
            buckets: Mutex::default(),
        }
    }

    pub fn check(&self, customer_id: &str) -> Result<(), AppError> {
        self.check_at(customer_id, Instant::now())
    }

    fn check_at(&self, customer_id: &str, now: Instant) -> Result<(), AppError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= REMEMBERED && !buckets.contains_key(customer_id) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, bucket| bucket.refilled(now, rate, burst) < burst);
        }
        let bucket = buckets.entry(customer_id.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = bucket.refilled(now, self.per_second, self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            // At least a second, and a whole number of them, as Retry-After counts.
            let wait = ((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0) as u64;
            Err(AppError::TooManyRequests {
                message: format!(
                    "You have {} too often just now. Please wait {wait} second(s) and try again.",
                    self.what
                ),
                retry_after: wait,
            })
        }
    }
}

impl Bucket {
    fn refilled(&self, now: Instant, per_second: f64, burst: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * per_second).min(burst)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limit = RateLimit::per_minute("ordered", 60);
        let start = Instant::now();
        for _ in 0..10 {
            assert!(limit.check_at("a", start).is_ok());
        }
        let refused = limit.check_at("a", start).expect_err("past the burst");
        assert!(
            refused.to_string().contains("ordered too often"),
            "{refused}"
        );
        let response = axum::response::IntoResponse::into_response(refused);
        assert_eq!(response.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "1");
        assert!(limit.check_at("b", start).is_ok(), "others are not held up");
        assert!(limit.check_at("a", start + Duration::from_secs(1)).is_ok());
        assert!(limit.check_at("a", start + Duration::from_secs(1)).is_err());
    }
}
