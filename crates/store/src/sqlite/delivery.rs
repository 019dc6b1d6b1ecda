//! Delivery's memory of each order in SQLite.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::migrations::migrate;
use super::statements::DeliveryStatements;
use super::{CachedStatements, Db};
use crate::sql_text::table_name;
use crate::{hours_before, DeliveryState, DeliveryStore, StateStore, StoreError, Versioned};
use common::settings::DeliveryStoreSettings;

pub(super) const MIGRATIONS: [&str; 2] = [
    include_str!("sql/delivery_1.sql"),
    include_str!("sql/delivery_2.sql"),
];

pub(crate) struct SqliteDeliveryStore {
    db: Arc<Db>,
    sql: Arc<DeliveryStatements>,
    retention_hours: f64,
}

impl SqliteDeliveryStore {
    pub(crate) async fn open(
        path: &Path,
        settings: &DeliveryStoreSettings,
    ) -> Result<Self, StoreError> {
        let table = table_name(&settings.table_customers)?;
        let db = Db::open(path)?;
        let name = table.clone();
        db.call(move |conn| {
            migrate(
                conn,
                &format!("delivery:{name}"),
                &MIGRATIONS,
                &[("customers", &name)],
            )
        })
        .await?;
        Ok(Self {
            db,
            sql: Arc::new(DeliveryStatements::new(&[("customers", &table)])),
            retention_hours: settings.table_customers_retention_hours,
        })
    }
}

#[async_trait]
impl StateStore for SqliteDeliveryStore {
    async fn purge_expired(&self, now_ms: i64) -> Result<usize, StoreError> {
        let cutoff = hours_before(now_ms, self.retention_hours);
        let sql = self.sql.clone();
        self.db
            .call(move |conn| conn.run(&sql.purge_states, [cutoff]))
            .await
    }
}

#[async_trait]
impl DeliveryStore for SqliteDeliveryStore {
    async fn load(&self, order_id: &str) -> Result<Option<Versioned<DeliveryState>>, StoreError> {
        let (sql, id) = (self.sql.clone(), order_id.to_owned());
        self.db
            .call(move |conn| {
                conn.row(&sql.select_state, [id], |row| {
                    Ok(Versioned {
                        value: DeliveryState {
                            customer_id: row.get(0)?,
                            baked: row.get(1)?,
                            late: row.get(2)?,
                            claimed_until: row.get(3)?,
                            delivered: row.get(4)?,
                        },
                        version: row.get(5)?,
                    })
                })
                .optional()
            })
            .await
    }

    async fn save(
        &self,
        order_id: &str,
        state: &DeliveryState,
        expected: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (sql, id, state) = (self.sql.clone(), order_id.to_owned(), state.clone());
        self.db
            .write(move |conn| {
                let s = &state;
                let written = match expected {
                    None => conn.run(
                        &sql.insert_state,
                        params![
                            id,
                            s.customer_id,
                            s.baked,
                            s.late,
                            s.claimed_until,
                            s.delivered,
                            now_ms
                        ],
                    )?,
                    Some(version) => conn.run(
                        &sql.update_state,
                        params![
                            id,
                            s.customer_id,
                            s.baked,
                            s.late,
                            s.claimed_until,
                            s.delivered,
                            now_ms,
                            version
                        ],
                    )?,
                };
                Ok(written == 1)
            })
            .await
    }
}
