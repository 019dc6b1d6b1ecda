//! Assemble: the kitchen's first station. Reads `pizza-ordered`, puts the pizza together and
//! announces it on `pizza-assembled` with the baking time it needs.

mod recipe;

use std::process::ExitCode;
use std::sync::Arc;

use common::context::ServiceContext;
use common::events::{now_ms, PizzaAssembled, PizzaOrdered};
use common::kafka::{HandleError, Handler, Inbound};
use common::service::Service;
use common::services::ServiceName;
use common::settings::Topic;

use recipe::{assembling_seconds, baking_seconds, recipe_seed};

struct Assemble {
    ctx: Arc<ServiceContext>,
}

impl Service for Assemble {
    const NAME: ServiceName = ServiceName::Assemble;
    const CONSUMES: &'static [Topic] = &[Topic::Ordered];
    const PRODUCES: &'static [Topic] = &[Topic::Assembled];

    async fn start(ctx: Arc<ServiceContext>) -> anyhow::Result<Self> {
        Ok(Self { ctx })
    }
}

impl Handler for Assemble {
    async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
        let order_id = event.order_id()?;
        let ordered: PizzaOrdered = event.decode()?;
        let seed = recipe_seed(&ordered.order.pizza);
        let assembling = assembling_seconds(seed);
        tracing::info!("Preparing order '{order_id}', assembling time is {assembling} second(s)");
        self.ctx.simulate(assembling as f64).await?;
        tracing::info!("Order '{order_id}' is assembled!");

        let assembled = PizzaAssembled {
            status: self.ctx.sys().status.ids.pizza_assembled,
            baking_time: baking_seconds(seed),
            timestamp: now_ms(),
        };
        self.ctx.emit(Topic::Assembled, &order_id, &assembled).await
    }
}

fn main() -> ExitCode {
    common::service::run::<Assemble>()
}
