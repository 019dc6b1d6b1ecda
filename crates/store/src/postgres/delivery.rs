//! Delivery's memory of each order in PostgreSQL, shared by the delivery instances of every host:
//! whichever instance a partition moves to finds the early warnings of its orders here.

use async_trait::async_trait;

use super::statements::DeliveryStatements;
use super::Pg;
use crate::sql_text::table_name;
use crate::{hours_before, DeliveryState, DeliveryStore, StateStore, StoreError, Versioned};
use common::settings::DeliveryStoreSettings;

const MIGRATIONS: [&str; 1] = [include_str!("sql/delivery_1.sql")];

pub(crate) struct PostgresDeliveryStore {
    pg: Pg,
    sql: DeliveryStatements,
    retention_hours: f64,
}

impl PostgresDeliveryStore {
    pub(crate) async fn open(
        url: &str,
        settings: &DeliveryStoreSettings,
    ) -> Result<Self, StoreError> {
        let table = table_name(&settings.table_customers)?;
        let pg = Pg::connect(url)?;
        pg.migrate(
            &format!("delivery:{table}"),
            &MIGRATIONS,
            &[("customers", &table)],
        )
        .await?;
        Ok(Self {
            pg,
            sql: DeliveryStatements::new(&[("customers", &table)]),
            retention_hours: settings.table_customers_retention_hours,
        })
    }
}

#[async_trait]
impl StateStore for PostgresDeliveryStore {
    async fn purge_expired(&self, now_ms: i64) -> Result<usize, StoreError> {
        let cutoff = hours_before(now_ms, self.retention_hours);
        let client = self.pg.client().await?;
        let purged = client
            .execute(&self.sql.purge_states, &[&cutoff])
            .await
            .map_err(|e| self.pg.error(e))?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }
}

#[async_trait]
impl DeliveryStore for PostgresDeliveryStore {
    async fn load(&self, order_id: &str) -> Result<Option<Versioned<DeliveryState>>, StoreError> {
        let client = self.pg.client().await?;
        async {
            let statement = client.prepare_cached(&self.sql.select_state).await?;
            let row = client.query_opt(&statement, &[&order_id]).await?;
            Ok(row.map(|row| Versioned {
                value: DeliveryState {
                    customer_id: row.get(0),
                    baked: row.get(1),
                    late: row.get(2),
                    claimed_until: row.get(3),
                    delivered: row.get(4),
                },
                version: row.get(5),
            }))
        }
        .await
        .map_err(|e| self.pg.error(e))
    }

    async fn save(
        &self,
        order_id: &str,
        state: &DeliveryState,
        expected: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let s = state;
        let client = self.pg.client().await?;
        async {
            let written = match expected {
                None => {
                    let statement = client.prepare_cached(&self.sql.insert_state).await?;
                    client
                        .execute(
                            &statement,
                            &[
                                &order_id,
                                &s.customer_id,
                                &s.baked,
                                &s.late,
                                &s.claimed_until,
                                &s.delivered,
                                &now_ms,
                            ],
                        )
                        .await?
                }
                Some(version) => {
                    let statement = client.prepare_cached(&self.sql.update_state).await?;
                    client
                        .execute(
                            &statement,
                            &[
                                &order_id,
                                &s.customer_id,
                                &s.baked,
                                &s.late,
                                &s.claimed_until,
                                &s.delivered,
                                &now_ms,
                                &version,
                            ],
                        )
                        .await?
                }
            };
            Ok(written == 1)
        }
        .await
        .map_err(|e| self.pg.error(e))
    }
}
