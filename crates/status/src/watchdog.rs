//! The watchdog: every `status_watchdog_minutes`, orders with no progress for
//! `status_invalid_timeout_minutes` are flagged `stuck`, so the shop hears of a baker who went
//! home before the customer calls.

use std::time::Duration;

use common::domain::events::now_ms;
use common::runtime::logging::error_chain;
use common::runtime::periodic;
use common::service::ServiceContext;
use store::Watchdog;

/// The counter of orders flagged, for the `PizzaOrdersStuck` alert.
pub(crate) const FLAGGED_STUCK: &str = "pizza_orders_flagged_stuck";

pub(crate) async fn run(ctx: &ServiceContext, store: &dyn Watchdog) {
    let settings = &ctx.sys().orders_store;
    let period = Duration::from_secs_f64(settings.status_watchdog_minutes * 60.0);
    let timeout_ms = (settings.status_invalid_timeout_minutes * 60_000.0) as i64;
    let stuck = ctx.sys().status.ids.stuck;
    tracing::info!(
        "Watchdog checks every {:.1} s for orders without progress for {:.1} s",
        period.as_secs_f64(),
        timeout_ms as f64 / 1000.0
    );
    periodic::every(period, &ctx.shutdown, || async {
        match store.flag_stuck(now_ms() - timeout_ms, stuck).await {
            Ok(orders) => {
                for order_id in orders {
                    tracing::warn!("Order '{order_id}' got stuck!");
                    ctx.metrics.count(FLAGGED_STUCK);
                }
            }
            Err(error) => tracing::warn!("Watchdog round failed: {}", error_chain(&error)),
        }
    })
    .await;
}
