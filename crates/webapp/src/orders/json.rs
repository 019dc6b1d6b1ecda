//! An order as the order page follows it: `/api/orders/<id>` and each event of its stream.

use common::domain::events::Pizza;
use serde::Serialize;
use store::OrderRecord;

#[derive(Debug, Serialize)]
pub struct OrderJson<'a> {
    order_id: &'a str,
    status: i64,
    status_str: &'a str,
    timestamp: i64,
    #[serde(flatten)]
    pizza: &'a Pizza,
}

impl<'a> OrderJson<'a> {
    /// `record` showing `status`, whose text is `label`.
    pub fn new(record: &'a OrderRecord, status: i64, label: &'a str) -> Self {
        Self {
            order_id: &record.order_id,
            status,
            status_str: label,
            timestamp: record.timestamp,
            pizza: &record.details.pizza,
        }
    }
}
