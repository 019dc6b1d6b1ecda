//! How many live streams one customer, and this web app altogether, may hold open: past either
//! cap a new stream gets a 429, and the page falls back to asking now and then.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus_client::metrics::gauge::Gauge;

use crate::error::AppError;

#[derive(Clone)]
pub struct StreamLimits {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StreamLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamLimits")
            .field("per_customer", &self.inner.per_customer)
            .field("per_instance", &self.inner.per_instance)
            .finish_non_exhaustive()
    }
}

struct Inner {
    per_customer: usize,
    per_instance: usize,
    open: Mutex<Open>,
    /// The same total, for Prometheus.
    gauge: Gauge,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_customer: HashMap<String, usize>,
}

/// One open stream, counted until dropped.
pub struct StreamPermit {
    inner: Arc<Inner>,
    customer_id: String,
}

impl std::fmt::Debug for StreamPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamPermit")
            .field("customer_id", &self.customer_id)
            .finish_non_exhaustive()
    }
}

impl StreamLimits {
    pub fn new(per_customer: usize, per_instance: usize) -> Self {
        Self::counted(per_customer, per_instance, Gauge::default())
    }

    /// Keeps `gauge` at the number of streams open.
    pub fn counted(per_customer: usize, per_instance: usize, gauge: Gauge) -> Self {
        Self {
            inner: Arc::new(Inner {
                per_customer,
                per_instance,
                open: Mutex::default(),
                gauge,
            }),
        }
    }

    pub fn open(&self, customer_id: &str) -> Result<StreamPermit, AppError> {
        let mut open = self.inner.lock();
        if open.total >= self.inner.per_instance {
            return Err(AppError::TooManyStreams(
                "This shop is following too many orders just now",
            ));
        }
        let mine = open.by_customer.entry(customer_id.to_owned()).or_default();
        if *mine >= self.inner.per_customer {
            return Err(AppError::TooManyStreams(
                "You are following too many orders at once; close a few pages",
            ));
        }
        *mine += 1;
        open.total += 1;
        self.inner.gauge.inc();
        Ok(StreamPermit {
            inner: self.inner.clone(),
            customer_id: customer_id.to_owned(),
        })
    }

    /// Streams open now.
    pub fn open_now(&self) -> usize {
        self.inner.lock().total
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.inner.lock();
        open.total = open.total.saturating_sub(1);
        self.inner.gauge.dec();
        if let Some(mine) = open.by_customer.get_mut(&self.customer_id) {
            *mine -= 1;
            if *mine == 0 {
                open.by_customer.remove(&self.customer_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_customer_and_altogether_and_frees_on_drop() {
        let limits = StreamLimits::new(2, 3);
        let a1 = limits.open("a").expect("first");
        let _a2 = limits.open("a").expect("second");
        assert!(limits.open("a").is_err(), "a third for one customer");
        let _b1 = limits.open("b").expect("another customer");
        assert!(limits.open("c").is_err(), "the instance is full");
        drop(a1);
        let _c1 = limits.open("c").expect("the place a1 freed");
        assert_eq!(limits.open_now(), 3);
        assert_eq!(limits.inner.gauge.get(), 3);
    }
}
