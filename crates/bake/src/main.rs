//! Bake: reads `pizza-assembled`, bakes for the announced time and reports on `pizza-baked`.

use std::process::ExitCode;
use std::sync::Arc;

use common::context::ServiceContext;
use common::events::{now_ms, EventError, PizzaAssembled, StageReached};
use common::kafka::{run_consumer, HandleError, Handler, Inbound};

/// The original's baking times are 8 to 15 s; anything far beyond is a corrupt event, not a
/// pizza to keep in the oven for days.
const LONGEST_BAKE_SECONDS: u64 = 3_600;

struct Bake {
    ctx: Arc<ServiceContext>,
}

impl Handler for Bake {
    async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
        let order_id = event.order_id()?;
        let assembled: PizzaAssembled = event.decode()?;
        let baking = assembled.baking_time;
        if baking > LONGEST_BAKE_SECONDS {
            return Err(
                EventError::BadValue(format!("baking_time {baking} s is out of range")).into(),
            );
        }
        tracing::info!("Preparing order '{order_id}', baking time is {baking} second(s)");
        self.ctx.simulate(baking as f64).await?;
        tracing::info!("Order '{order_id}' is baked!");

        let baked = StageReached {
            status: self.ctx.sys.status.ids.pizza_baked,
            timestamp: now_ms(),
        };
        self.ctx
            .emit_stage(&self.ctx.sys.topics.baked, &order_id, &baked, baked)
            .await
    }
}

fn main() -> ExitCode {
    common::app::run("bake", |startup| async move {
        let group = startup.sys.group_ids.bake.clone();
        let client = startup.sys.client_ids.bake.clone();
        let consumes = startup.sys.topics.assembled.clone();
        let produces = startup.sys.topics.baked.clone();
        let ctx = ServiceContext::connect("bake", &client, startup, &[&produces]).await?;
        let handler = Arc::new(Bake { ctx: ctx.clone() });
        run_consumer(ctx, &group, &client, &[&consumes], handler).await?;
        Ok(())
    })
}
