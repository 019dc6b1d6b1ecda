//! The watchdog: every `status_watchdog_minutes`, orders with no progress for
//! `status_invalid_timeout_minutes` are flagged `stuck`, so the shop hears of a baker who went
//! home before the customer calls. It also forgets orders past their retention.

use std::sync::Arc;
use std::time::Duration;

use common::context::ServiceContext;
use common::events::now_ms;
use common::periodic;
use common::store::{blocking, OrderStore};

pub async fn run(ctx: &ServiceContext, store: Arc<dyn OrderStore>) {
    let settings = &ctx.sys.orders_store;
    let period = Duration::from_secs_f64(settings.status_watchdog_minutes * 60.0);
    let timeout_ms = (settings.status_invalid_timeout_minutes * 60_000.0) as i64;
    let retention_hours = settings.table_orders_retention_hours;
    let stuck = ctx.sys.status.ids.stuck;
    tracing::info!(
        "Watchdog checks every {:.1} s for orders without progress for {:.1} s",
        period.as_secs_f64(),
        timeout_ms as f64 / 1000.0
    );
    periodic::every(period, &ctx.shutdown, || {
        let store = store.clone();
        async move {
            let now = now_ms();
            let flag = store.clone();
            match blocking(move || flag.flag_stuck(now - timeout_ms, stuck)).await {
                Ok(orders) => {
                    for order_id in orders {
                        tracing::warn!(
                            "Order '{order_id}' is stuck: no progress for {} s ({stuck})",
                            timeout_ms / 1000
                        );
                    }
                }
                Err(error) => tracing::warn!("Watchdog round failed: {error}"),
            }
            let cutoff = periodic::hours_ago_ms(now, retention_hours);
            match blocking(move || store.purge_older_than(cutoff)).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!("Removed {purged} order(s) past retention"),
                Err(error) => tracing::warn!("Retention clean-up failed: {error}"),
            }
        }
    })
    .await;
}
