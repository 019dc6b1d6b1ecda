//! Every backend, opened fresh and empty for each case: SQLite in a temporary folder, PostgreSQL
//! in a new database on a real server (one server for the cases running at once).

use std::fmt;
use std::sync::Arc;

use common::domain::status::StatusRules;
use common::settings::{DeliveryStoreSettings, OrdersStoreSettings, StoreLocation};
use store::{open_delivery_store, open_order_store, DeliveryStore, OrderStore};
use test_postgres::{fresh_name, Postgres};

pub(crate) const HOUR: i64 = 3_600_000;

/// Both stores of one backend, and what keeps their rows there until the case ends.
pub(crate) struct Opened {
    name: &'static str,
    orders: Arc<dyn OrderStore>,
    delivery: Arc<dyn DeliveryStore>,
    _folder: Option<tempfile::TempDir>,
    _server: Option<Arc<Postgres>>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Opened {
    pub(crate) fn orders(&self) -> &dyn OrderStore {
        self.orders.as_ref()
    }

    pub(crate) fn delivery(&self) -> &dyn DeliveryStore {
        self.delivery.as_ref()
    }
}

impl fmt::Display for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The orders store's settings: orders kept 4 hours, watches 2 hours.
pub(crate) fn orders_settings(location: StoreLocation) -> OrdersStoreSettings {
    OrdersStoreSettings {
        location,
        table_orders: "orders".into(),
        table_status: "status".into(),
        table_orders_retention_hours: 4.0,
        table_status_retention_hours: 2.0,
        status_watchdog_minutes: 0.25,
        status_invalid_timeout_minutes: 0.75,
        rules: StatusRules {
            completed: vec![999, 499],
            unwatched: vec![430],
        },
    }
}

/// Delivery's settings: its rows kept 4 hours.
pub(crate) fn delivery_settings(location: StoreLocation) -> DeliveryStoreSettings {
    DeliveryStoreSettings {
        location,
        table_customers: "customers".into(),
        table_customers_retention_hours: 4.0,
    }
}

/// Every store implementation, empty.
pub(crate) async fn each_store() -> Vec<Opened> {
    let folder = tempfile::tempdir().expect("tempdir");
    let sqlite = |file: &str| StoreLocation::Sqlite(folder.path().join(file));
    let orders = open_order_store(&orders_settings(sqlite("orders.db")))
        .await
        .expect("sqlite orders");
    let delivery = open_delivery_store(&delivery_settings(sqlite("delivery.db")))
        .await
        .expect("sqlite delivery");
    let server = Postgres::shared();
    let url = server.database(&fresh_name("stores"));
    let postgres = || StoreLocation::Postgres(url.clone());
    let pg_orders = open_order_store(&orders_settings(postgres()))
        .await
        .expect("postgres orders");
    let pg_delivery = open_delivery_store(&delivery_settings(postgres()))
        .await
        .expect("postgres delivery");
    vec![
        Opened {
            name: "sqlite",
            orders,
            delivery,
            _folder: Some(folder),
            _server: None,
        },
        Opened {
            name: "postgres",
            orders: pg_orders,
            delivery: pg_delivery,
            _folder: None,
            _server: Some(server),
        },
    ]
}

/// A fresh place for each implementation to keep its rows, for opening several stores on it (as
/// several instances would).
#[derive(Debug)]
pub(crate) struct Location {
    pub(crate) name: &'static str,
    pub(crate) location: StoreLocation,
    _folder: Option<tempfile::TempDir>,
    _server: Option<Arc<Postgres>>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

pub(crate) fn each_location() -> Vec<Location> {
    let folder = tempfile::tempdir().expect("tempdir");
    let server = Postgres::shared();
    vec![
        Location {
            name: "sqlite",
            location: StoreLocation::Sqlite(folder.path().join("shared.db")),
            _folder: Some(folder),
            _server: None,
        },
        Location {
            name: "postgres",
            location: StoreLocation::Postgres(server.database(&fresh_name("instances"))),
            _folder: None,
            _server: Some(server),
        },
    ]
}
