//! The stores the behaviour suite runs against, each opened fresh.

use std::fmt;
use std::sync::Arc;

use common::settings::{DeliveryStoreSettings, OrdersStoreSettings, StoreLocation};
use common::status::StatusRules;
use common::store::{open_delivery_store, open_order_store, DeliveryStore, OrderStore};

pub const HOUR: i64 = 3_600_000;

pub struct Opened {
    name: &'static str,
    orders: Arc<dyn OrderStore>,
    delivery: Arc<dyn DeliveryStore>,
    _folder: tempfile::TempDir,
}

impl Opened {
    pub fn orders(&self) -> &dyn OrderStore {
        self.orders.as_ref()
    }

    pub fn delivery(&self) -> &dyn DeliveryStore {
        self.delivery.as_ref()
    }
}

impl fmt::Display for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

fn orders_settings(location: StoreLocation) -> OrdersStoreSettings {
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

fn delivery_settings(location: StoreLocation) -> DeliveryStoreSettings {
    DeliveryStoreSettings {
        location,
        table_customers: "customers".into(),
        table_customers_retention_hours: 4.0,
    }
}

/// Every store implementation, empty.
pub async fn each_store() -> Vec<Opened> {
    let folder = tempfile::tempdir().expect("tempdir");
    let orders = open_order_store(&orders_settings(StoreLocation::Sqlite(
        folder.path().join("orders.db"),
    )))
    .await
    .expect("sqlite orders");
    let delivery = open_delivery_store(&delivery_settings(StoreLocation::Sqlite(
        folder.path().join("delivery.db"),
    )))
    .await
    .expect("sqlite delivery");
    vec![Opened {
        name: "sqlite",
        orders,
        delivery,
        _folder: folder,
    }]
}
