//! Delivery's memory of which customer each order is for, and how far it has got.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::sqlite::{table_name, CachedStatements, Db};
use super::{DeliveryAction, DeliveryStore, StateStore, StoreError};
use crate::settings::DeliveryStoreSettings;

pub struct SqliteDeliveryStore {
    db: Db,
    table: String,
}

/// One order as delivery knows it.
struct Row {
    customer_id: Option<String>,
    baked: bool,
    delivered: bool,
}

impl SqliteDeliveryStore {
    pub fn open(settings: &DeliveryStoreSettings) -> Result<Self, StoreError> {
        let store = Self {
            db: Db::open(&settings.name)?,
            table: table_name(&settings.table_customers)?,
        };
        store.create_tables()?;
        Ok(store)
    }

    /// Reads the order's row and decides, holding the write lock so the two events of one order
    /// never decide from the same state.
    fn transition(
        &self,
        order_id: &str,
        decide: impl FnOnce(Option<Row>) -> (Option<(Option<String>, bool)>, DeliveryAction),
        now_ms: i64,
    ) -> Result<DeliveryAction, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db.err(e))?;
        let row = tx
            .row(
                &format!(
                    "SELECT customer_id, baked, delivered FROM {} WHERE order_id = ?1",
                    self.table
                ),
                [order_id],
                |r| {
                    Ok(Row {
                        customer_id: r.get(0)?,
                        baked: r.get(1)?,
                        delivered: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.db.err(e))?;
        let (write, action) = decide(row);
        if let Some((customer_id, baked)) = write {
            tx.run(
                &format!(
                    "INSERT INTO {} (order_id, customer_id, baked, delivered, updated_at) \
                     VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (order_id) DO UPDATE SET \
                     customer_id = excluded.customer_id, baked = excluded.baked, updated_at = excluded.updated_at",
                    self.table
                ),
                params![order_id, customer_id, baked, now_ms],
            )
            .map_err(|e| self.db.err(e))?;
        }
        tx.commit().map_err(|e| self.db.err(e))?;
        Ok(action)
    }
}

impl StateStore for SqliteDeliveryStore {
    fn create_tables(&self) -> Result<(), StoreError> {
        let table = &self.table;
        self.db
            .lock()
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                    order_id TEXT PRIMARY KEY,
                    customer_id TEXT,
                    baked INTEGER NOT NULL DEFAULT 0,
                    delivered INTEGER NOT NULL DEFAULT 0,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX IF NOT EXISTS {table}_by_update ON {table} (updated_at);"
            ))
            .map_err(|e| self.db.err(e))
    }

    fn purge_older_than(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        self.db
            .lock()
            .run(
                &format!("DELETE FROM {} WHERE updated_at < ?1", self.table),
                [cutoff_ms],
            )
            .map_err(|e| self.db.err(e))
    }
}

impl DeliveryStore for SqliteDeliveryStore {
    fn on_ordered(
        &self,
        order_id: &str,
        customer_id: &str,
        now_ms: i64,
    ) -> Result<DeliveryAction, StoreError> {
        let customer = Some(customer_id.to_owned());
        self.transition(
            order_id,
            |row| match row {
                None => (Some((customer, false)), DeliveryAction::Remembered),
                Some(Row {
                    delivered: true, ..
                }) => (None, DeliveryAction::Nothing),
                // Baked first and waiting for us (or a replay after a crash mid-delivery).
                Some(Row { baked: true, .. }) => (
                    Some((customer, true)),
                    DeliveryAction::Deliver {
                        customer_id: customer_id.to_owned(),
                        late: true,
                    },
                ),
                Some(Row { baked: false, .. }) => (None, DeliveryAction::Nothing),
            },
            now_ms,
        )
    }

    fn on_baked(&self, order_id: &str, now_ms: i64) -> Result<DeliveryAction, StoreError> {
        self.transition(
            order_id,
            |row| match row {
                None => (Some((None, true)), DeliveryAction::Pending),
                Some(Row {
                    delivered: true, ..
                }) => (None, DeliveryAction::Nothing),
                Some(Row {
                    customer_id: None, ..
                }) => (None, DeliveryAction::Nothing),
                Some(Row {
                    customer_id: Some(customer_id),
                    ..
                }) => (
                    Some((Some(customer_id.clone()), true)),
                    DeliveryAction::Deliver {
                        customer_id,
                        late: false,
                    },
                ),
            },
            now_ms,
        )
    }

    fn mark_delivered(&self, order_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.db
            .lock()
            .run(
                &format!(
                    "UPDATE {} SET delivered = 1, updated_at = ?2 WHERE order_id = ?1",
                    self.table
                ),
                params![order_id, now_ms],
            )
            .map(|_| ())
            .map_err(|e| self.db.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &std::path::Path) -> SqliteDeliveryStore {
        SqliteDeliveryStore::open(&DeliveryStoreSettings {
            db_module_class: "sqlite".into(),
            name: dir.join("delivery.db"),
            table_customers: "delivery".into(),
            table_customers_retention_hours: 24.0,
        })
        .expect("opens")
    }

    #[test]
    fn early_warning_then_baked_delivers_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        assert_eq!(
            store.on_ordered("o", "c", 1).expect("ok"),
            DeliveryAction::Remembered
        );
        assert_eq!(
            store.on_ordered("o", "c", 1).expect("ok"),
            DeliveryAction::Nothing
        );
        assert_eq!(
            store.on_baked("o", 2).expect("ok"),
            DeliveryAction::Deliver {
                customer_id: "c".into(),
                late: false
            }
        );
        store.mark_delivered("o", 3).expect("ok");
        assert_eq!(store.on_baked("o", 4).expect("ok"), DeliveryAction::Nothing);
        assert_eq!(
            store.on_ordered("o", "c", 4).expect("ok"),
            DeliveryAction::Nothing
        );
    }

    #[test]
    fn baked_before_the_early_warning_waits_then_delivers_late() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        assert_eq!(store.on_baked("o", 1).expect("ok"), DeliveryAction::Pending);
        assert_eq!(store.on_baked("o", 1).expect("ok"), DeliveryAction::Nothing);
        assert_eq!(
            store.on_ordered("o", "c", 2).expect("ok"),
            DeliveryAction::Deliver {
                customer_id: "c".into(),
                late: true
            }
        );
        store.mark_delivered("o", 3).expect("ok");
        assert_eq!(
            store.on_ordered("o", "c", 4).expect("ok"),
            DeliveryAction::Nothing
        );
    }

    #[test]
    fn a_replay_after_a_crash_mid_delivery_delivers_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        store.on_ordered("o", "c", 1).expect("ok");
        store.on_baked("o", 2).expect("ok");
        // Not marked delivered: the baked event was never committed and comes again.
        assert_eq!(
            store.on_baked("o", 3).expect("ok"),
            DeliveryAction::Deliver {
                customer_id: "c".into(),
                late: false
            }
        );
    }

    #[test]
    fn purge_drops_old_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        store.on_ordered("old", "c", 1).expect("ok");
        store.on_ordered("new", "c", 100).expect("ok");
        assert_eq!(store.purge_older_than(50).expect("purge"), 1);
        assert_eq!(
            store.on_ordered("old", "c", 101).expect("ok"),
            DeliveryAction::Remembered
        );
    }
}
