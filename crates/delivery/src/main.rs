//! Delivery: stateful. `pizza-ordered` is the early warning (which customer the order is for);
//! `pizza-baked` says the pizza is ready. The two may arrive in either order: baked first means
//! `pizza-pending` until the early warning arrives, and then a delivery that takes twice as long.

mod order_locks;
mod route;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use common::context::ServiceContext;
use common::events::{now_ms, EventError, PizzaOrdered, StageReached};
use common::kafka::{run_consumer, HandleError, Handler, Inbound};
use common::periodic;
use common::store::{blocking, open_delivery_store, DeliveryAction, DeliveryStore};

use order_locks::OrderLocks;
use route::delivery_seconds;

struct Delivery {
    ctx: Arc<ServiceContext>,
    store: Arc<dyn DeliveryStore>,
    orders: OrderLocks,
}

impl Handler for Delivery {
    async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
        let order_id = event.order_id()?;
        let topics = &self.ctx.sys.topics;
        // The order's other event, or a replayed copy, waits here until this one is done.
        let _one_at_a_time = self.orders.lock(&order_id).await;
        let action = if event.topic == topics.ordered {
            let ordered: PizzaOrdered = event.decode()?;
            let customer_id = ordered.order.customer_id;
            if delivery_seconds(&customer_id, false).is_none() {
                return Err(EventError::BadValue(format!(
                    "customer_id {customer_id:?} is not hexadecimal"
                ))
                .into());
            }
            tracing::info!(
                "Early warning to deliver order '{order_id}' to customer_id '{customer_id}'"
            );
            let (store, id) = (self.store.clone(), order_id.clone());
            blocking(move || store.on_ordered(&id, &customer_id, now_ms())).await?
        } else {
            let _baked: StageReached = event.decode()?;
            let (store, id) = (self.store.clone(), order_id.clone());
            blocking(move || store.on_baked(&id, now_ms())).await?
        };

        match action {
            DeliveryAction::Remembered => Ok(()),
            DeliveryAction::Nothing => {
                tracing::info!("Order '{order_id}' needs nothing more from delivery (repeated notice or already delivered)");
                Ok(())
            }
            DeliveryAction::Pending => {
                tracing::info!(
                    "Order '{order_id}' is baked but its early warning has not arrived: pending"
                );
                let pending = StageReached {
                    status: self.ctx.sys.status.ids.pending,
                    timestamp: now_ms(),
                };
                self.ctx
                    .emit_stage(&topics.pending, &order_id, &pending, pending)
                    .await
            }
            DeliveryAction::Deliver { customer_id, late } => {
                self.deliver(&order_id, &customer_id, late).await
            }
        }
    }
}

impl Delivery {
    async fn deliver(
        &self,
        order_id: &str,
        customer_id: &str,
        late: bool,
    ) -> Result<(), HandleError> {
        let seconds = delivery_seconds(customer_id, late).ok_or_else(|| {
            EventError::BadValue(format!("customer_id {customer_id:?} is not hexadecimal"))
        })?;
        tracing::info!(
            "Delivering order '{order_id}' for customer_id '{customer_id}', delivery time is {seconds} second(s)"
        );
        self.ctx.simulate(seconds as f64).await?;
        tracing::info!("Order '{order_id}' delivered to customer_id '{customer_id}'");

        let delivered = StageReached {
            status: self.ctx.sys.status.ids.delivered,
            timestamp: now_ms(),
        };
        self.ctx
            .emit_stage(
                &self.ctx.sys.topics.delivered,
                order_id,
                &delivered,
                delivered,
            )
            .await?;
        // Marked only once the broker has the event: a crash in between delivers again after
        // restart (at least once) rather than never.
        let (store, id) = (self.store.clone(), order_id.to_owned());
        blocking(move || store.mark_delivered(&id, now_ms())).await?;
        Ok(())
    }
}

fn main() -> ExitCode {
    common::app::run("delivery", |startup| async move {
        let sys = &startup.sys;
        let group = sys.group_ids.delivery.clone();
        let client = sys.client_ids.delivery.clone();
        let (ordered, baked) = (sys.topics.ordered.clone(), sys.topics.baked.clone());
        let produces = [sys.topics.pending.clone(), sys.topics.delivered.clone()];
        let store = open_delivery_store(&sys.delivery_store)?;
        let retention_hours = sys.delivery_store.table_customers_retention_hours;
        let ctx =
            ServiceContext::connect("delivery", &client, startup, &[&produces[0], &produces[1]])
                .await?;

        let handler = Arc::new(Delivery {
            ctx: ctx.clone(),
            store: store.clone(),
            orders: OrderLocks::default(),
        });
        let subscriptions = [ordered.as_str(), baked.as_str()];
        let consume = run_consumer(ctx.clone(), &group, &client, &subscriptions, handler);
        let retention = periodic::every(Duration::from_secs(600), &ctx.shutdown, || {
            let store = store.clone();
            async move {
                let cutoff = periodic::hours_ago_ms(now_ms(), retention_hours);
                match blocking(move || store.purge_older_than(cutoff)).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!("Forgot {purged} order(s) past retention"),
                    Err(error) => tracing::warn!("Retention clean-up failed: {error}"),
                }
            }
        });
        let (consumed, ()) = tokio::join!(consume, retention);
        consumed?;
        Ok(())
    })
}
