//! Delivery's memory of each order in SQLite.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::migrations::migrate;
use super::{CachedStatements, Db};
use crate::{
    hours_before, table_name, DeliveryState, DeliveryStore, StateStore, StoreError, Versioned,
};
use common::settings::DeliveryStoreSettings;

const MIGRATIONS: [&str; 2] = [
    include_str!("sql/delivery_1.sql"),
    include_str!("sql/delivery_2.sql"),
];

pub(crate) struct SqliteDeliveryStore {
    db: Arc<Db>,
    sql: Arc<Statements>,
    retention_hours: f64,
}

struct Statements {
    select: String,
    insert: String,
    update: String,
    purge: String,
}

impl Statements {
    fn new(table: &str) -> Self {
        Self {
            select: format!(
                "SELECT customer_id, baked, late, claimed_until, delivered, version \
                 FROM {table} WHERE order_id = ?1"
            ),
            insert: format!(
                "INSERT INTO {table} (order_id, customer_id, baked, late, claimed_until, \
                 delivered, version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) \
                 ON CONFLICT (order_id) DO NOTHING"
            ),
            update: format!(
                "UPDATE {table} SET customer_id = ?2, baked = ?3, late = ?4, claimed_until = ?5, \
                 delivered = ?6, version = version + 1, updated_at = ?7 \
                 WHERE order_id = ?1 AND version = ?8"
            ),
            purge: format!("DELETE FROM {table} WHERE updated_at < ?1"),
        }
    }
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
            sql: Arc::new(Statements::new(&table)),
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
            .call(move |conn| conn.run(&sql.purge, [cutoff]))
            .await
    }
}

#[async_trait]
impl DeliveryStore for SqliteDeliveryStore {
    async fn load(&self, order_id: &str) -> Result<Option<Versioned<DeliveryState>>, StoreError> {
        let (sql, id) = (self.sql.clone(), order_id.to_owned());
        self.db
            .call(move |conn| {
                conn.row(&sql.select, [id], |row| {
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
                        &sql.insert,
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
                        &sql.update,
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
