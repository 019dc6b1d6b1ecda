//! Bake: reads `pizza-assembled`, bakes for the announced time and reports on `pizza-baked`.

use std::process::ExitCode;
use std::sync::Arc;

use common::context::ServiceContext;
use common::events::{now_ms, EventError, PizzaAssembled};
use common::kafka::{HandleError, Handler, Inbound};
use common::service::Service;
use common::services::ServiceName;
use common::settings::Topic;
use common::status::StatusAt;

/// The original's baking times are 8 to 15 s; anything far beyond is a corrupt event, not a
/// pizza to keep in the oven for days.
const LONGEST_BAKE_SECONDS: u64 = 3_600;

struct Bake {
    ctx: Arc<ServiceContext>,
}

impl Service for Bake {
    const NAME: ServiceName = ServiceName::Bake;
    const CONSUMES: &'static [Topic] = &[Topic::Assembled];
    const PRODUCES: &'static [Topic] = &[Topic::Baked];

    async fn start(ctx: Arc<ServiceContext>) -> anyhow::Result<Self> {
        Ok(Self { ctx })
    }
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

        let baked = StatusAt {
            status: self.ctx.sys().status.ids.pizza_baked,
            timestamp: now_ms(),
        };
        self.ctx.emit(Topic::Baked, &order_id, &baked).await
    }
}

fn main() -> ExitCode {
    common::service::run::<Bake>()
}
