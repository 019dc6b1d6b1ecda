//! The PostgreSQL stores: one database server shared by every instance of every service on every
//! host. A pool of connections per store; statements prepared once per connection; the schema
//! brought up to date at start under an advisory lock, so instances starting at once take turns.
//! The statements and schema scripts are the files of `sql/` ([`statements`]).

mod aside;
mod delivery;
mod listen;
mod orders;
mod statements;

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{Config, NoTls};

use super::StoreError;
use crate::sql_text::with_tables;

pub(crate) use aside::{DeliveryAside, OrdersAside};
pub(crate) use delivery::PostgresDeliveryStore;
pub(crate) use orders::PostgresOrderStore;

/// Connections per store and process: the services' work is short statements, and a server
/// serves many processes.
const POOL_SIZE: usize = 8;
/// How long a call waits for a connection before the store counts as unavailable.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long start-up waits for the database to answer before giving up with a clear error.
const START_PATIENCE: Duration = Duration::from_secs(60);

pub(super) struct Pg {
    pool: Pool,
    /// The URL without its password, for error messages.
    database: String,
}

impl Pg {
    pub(super) fn connect(url: &str) -> Result<Self, StoreError> {
        let config = Config::from_str(url).map_err(|source| StoreError::Postgres {
            database: "the [state-store-*] name".into(),
            source,
        })?;
        let database = described(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(PATIENCE))
            .create_timeout(Some(PATIENCE))
            .recycle_timeout(Some(PATIENCE))
            .build()
            .map_err(|source| StoreError::PoolBuild {
                database: database.clone(),
                source,
            })?;
        Ok(Self { pool, database })
    }

    pub(super) async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|source| StoreError::Unavailable {
                database: self.database.clone(),
                source,
            })
    }

    /// A connection, waiting a while for a database that is still starting (or restarting), so
    /// the services may start before it.
    async fn reachable(&self) -> Result<deadpool_postgres::Client, StoreError> {
        let started = std::time::Instant::now();
        loop {
            match self.client().await {
                Err(error) if error.is_unavailable() && started.elapsed() < START_PATIENCE => {
                    tracing::warn!(
                        "Waiting for the database ({})",
                        common::runtime::logging::error_chain(&error)
                    );
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                reached => return reached,
            }
        }
    }

    pub(super) fn error(&self, source: tokio_postgres::Error) -> StoreError {
        StoreError::Postgres {
            database: self.database.clone(),
            source,
        }
    }

    /// Brings `store`'s tables up to the last of `scripts` (`{name}` placeholders filled with
    /// the configured table names), each script applied once, whoever starts first.
    pub(super) async fn migrate(
        &self,
        store: &str,
        scripts: &[&str],
        tables: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let mut client = self.reachable().await?;
        let tx = client.transaction().await.map_err(|e| self.error(e))?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(hashtext('pizza_schema'));
             CREATE TABLE IF NOT EXISTS pizza_schema (store TEXT PRIMARY KEY, version BIGINT NOT NULL);",
        )
        .await
        .map_err(|e| self.error(e))?;
        let at: i64 = tx
            .query_opt(
                "SELECT version FROM pizza_schema WHERE store = $1",
                &[&store],
            )
            .await
            .map_err(|e| self.error(e))?
            .map_or(0, |row| row.get(0));
        for script in scripts.iter().skip(usize::try_from(at).unwrap_or(0)) {
            tx.batch_execute(&with_tables(script, tables))
                .await
                .map_err(|e| self.error(e))?;
        }
        let version = i64::try_from(scripts.len()).unwrap_or(i64::MAX).max(at);
        tx.execute(
            "INSERT INTO pizza_schema (store, version) VALUES ($1, $2) \
             ON CONFLICT (store) DO UPDATE SET version = excluded.version",
            &[&store, &version],
        )
        .await
        .map_err(|e| self.error(e))?;
        tx.commit().await.map_err(|e| self.error(e))
    }
}

/// `postgres://user@host:port/database`, without the password.
pub(crate) fn described(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let config = Config::from_str("postgres://shop:s3cret@db.example:5433/pizza").expect("url");
        assert_eq!(described(&config), "postgres://shop@db.example:5433/pizza");
    }

    /// Settings check only a PostgreSQL store's scheme; the rest of the URL is refused here, when
    /// the store opens, without a connection attempt and without showing the password.
    #[test]
    fn a_url_postgres_cannot_read_is_refused_when_the_store_opens() {
        let Err(error) = Pg::connect("postgres://shop:s3cret@db.example:oven/pizza") else {
            panic!("a port that is not a number");
        };
        let message = common::runtime::logging::error_chain(&error);
        assert!(
            message.starts_with("state store the [state-store-*] name"),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }
}
