//! One order handled at a time in this process. Delivery hears of an order twice (and again on a
//! redelivery); handling the events of one order one after the other means the second always
//! sees what the first decided and wrote, so no order gets two drivers. Events of different
//! orders still run side by side.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
pub struct OrderLocks {
    locks: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

pub struct OrderGuard<'a> {
    locks: &'a OrderLocks,
    order_id: String,
    lock: Arc<AsyncMutex<()>>,
    _held: OwnedMutexGuard<()>,
}

impl OrderLocks {
    /// Waits until no other event of this order is being handled here.
    pub async fn lock(&self, order_id: &str) -> OrderGuard<'_> {
        let lock = self.map().entry(order_id.to_owned()).or_default().clone();
        let held = lock.clone().lock_owned().await;
        OrderGuard {
            locks: self,
            order_id: order_id.to_owned(),
            lock,
            _held: held,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AsyncMutex<()>>>> {
        self.locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map().len()
    }
}

impl Drop for OrderGuard<'_> {
    fn drop(&mut self) {
        // The map, this guard's handle and the held lock account for three references; any more
        // are events of the same order waiting, which still need the entry.
        let mut map = self.locks.map();
        if Arc::strong_count(&self.lock) <= 3 {
            map.remove(&self.order_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn events_of_one_order_wait_for_each_other() {
        let locks = Arc::new(OrderLocks::default());
        let first = locks.lock("o").await;
        let waiting = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _second = locks.lock("o").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "the second event waits for the first"
        );
        let _other = locks.lock("p").await;
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("released")
            .expect("ran");
    }

    #[tokio::test]
    async fn finished_orders_leave_no_entry_behind() {
        let locks = OrderLocks::default();
        drop(locks.lock("o").await);
        drop(locks.lock("p").await);
        assert_eq!(locks.len(), 0);
    }
}
