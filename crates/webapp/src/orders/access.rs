//! Only an order's owner may see it: what the order pages and the live streams share.

use store::{OrderRecord, Orders};

use crate::error::AppError;
use crate::session::Customer;

/// The customer's own order, or 404 (for an unknown id and for anyone else's alike).
pub async fn own_order(
    store: &dyn Orders,
    customer: &Customer,
    order_id: &str,
) -> Result<OrderRecord, AppError> {
    if !is_order_id(order_id) {
        return Err(AppError::NotFound);
    }
    store
        .get_order(order_id)
        .await?
        .filter(|order| order.details.customer_id == customer.customer_id)
        .ok_or(AppError::NotFound)
}

pub fn is_order_id(text: &str) -> bool {
    text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit())
}
