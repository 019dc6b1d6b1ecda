//! Assemble: the kitchen's first station. Reads `pizza-ordered`, puts the pizza together and
//! announces it on `pizza-assembled` with the baking time it needs.

mod recipe;

use std::process::ExitCode;
use std::sync::Arc;

use common::context::ServiceContext;
use common::events::{now_ms, PizzaAssembled, PizzaOrdered, StageReached};
use common::kafka::{run_consumer, HandleError, Handler, Inbound};

use recipe::{assembling_seconds, baking_seconds, recipe_seed};

struct Assemble {
    ctx: Arc<ServiceContext>,
}

impl Handler for Assemble {
    async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
        let order_id = event.order_id()?;
        let ordered: PizzaOrdered = event.decode()?;
        let seed = recipe_seed(&ordered.order);
        let assembling = assembling_seconds(seed);
        tracing::info!("Preparing order '{order_id}', assembling time is {assembling} second(s)");
        self.ctx.simulate(assembling as f64).await?;
        tracing::info!("Order '{order_id}' is assembled!");

        let status = self.ctx.sys.status.ids.pizza_assembled;
        let timestamp = now_ms();
        let assembled = PizzaAssembled {
            status,
            baking_time: baking_seconds(seed),
            timestamp,
        };
        let topic = &self.ctx.sys.topics.assembled;
        self.ctx
            .emit_stage(
                topic,
                &order_id,
                &assembled,
                StageReached { status, timestamp },
            )
            .await
    }
}

fn main() -> ExitCode {
    common::app::run("assemble", |startup| async move {
        let group = startup.sys.group_ids.assemble.clone();
        let client = startup.sys.client_ids.assemble.clone();
        let consumes = startup.sys.topics.ordered.clone();
        let produces = startup.sys.topics.assembled.clone();
        let ctx = ServiceContext::connect("assemble", &client, startup, &[&produces]).await?;
        let handler = Arc::new(Assemble { ctx: ctx.clone() });
        run_consumer(ctx, &group, &client, &[&consumes], handler).await?;
        Ok(())
    })
}
