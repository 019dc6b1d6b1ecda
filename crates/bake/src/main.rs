//! Bake: reads `pizza-assembled`, bakes for the announced time and reports on `pizza-baked`.

use std::process::ExitCode;
use std::sync::Arc;

use common::domain::events::{now_ms, EventError, PizzaAssembled};
use common::domain::status::StatusAt;
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{HandleError, Inbound};
use common::service::{Handler, Service, ServiceContext};

/// The original's baking times are 8 to 15 s; anything far beyond is a corrupt event, not a
/// pizza to keep in the oven for days.
const LONGEST_BAKE_SECONDS: u64 = 3_600;

struct Bake {
    ctx: Arc<ServiceContext>,
}

impl Service for Bake {
    const NAME: ServiceName = ServiceName::Bake;

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

#[cfg(test)]
mod tests {
    use common::kafka::{inbound, test_settings, RecordingSink};

    use super::*;

    fn bake() -> (Bake, Arc<RecordingSink>) {
        let (ctx, sink) = ServiceContext::recording(ServiceName::Bake, test_settings());
        (Bake { ctx }, sink)
    }

    fn assembled(bake: &Bake, baking_time: u64) -> Inbound {
        let payload = format!(
            r#"{{"status": 200, "baking_time": {baking_time}, "timestamp": 1676235640000}}"#
        );
        inbound(
            &bake.ctx.sys().topics,
            Topic::Assembled,
            "order-1",
            payload.as_bytes(),
        )
    }

    #[tokio::test]
    async fn a_baked_pizza_is_announced_with_the_baked_status() {
        let (bake, sink) = bake();
        bake.handle(&assembled(&bake, 11)).await.expect("handled");

        let sent = sink.sent();
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(sent[0].topic, "pizza-baked");
        assert_eq!(sent[0].key, "order-1");
        assert_eq!(sent[0].json()["status"], 300);
        assert_eq!(sent[1].topic, "pizza-status");
        assert_eq!(sent[1].json()["status"], 300);
    }

    #[tokio::test]
    async fn the_longest_bake_is_accepted() {
        let (bake, sink) = bake();
        bake.handle(&assembled(&bake, LONGEST_BAKE_SECONDS))
            .await
            .expect("handled");
        assert_eq!(sink.sent_to("pizza-baked").len(), 1);
    }

    #[tokio::test]
    async fn a_baking_time_out_of_range_is_malformed_and_nothing_is_baked() {
        let (bake, sink) = bake();
        let handled = bake
            .handle(&assembled(&bake, LONGEST_BAKE_SECONDS + 1))
            .await;
        assert!(
            matches!(
                handled,
                Err(HandleError::Malformed(EventError::BadValue(_)))
            ),
            "{handled:?}"
        );
        assert_eq!(sink.sent(), []);
    }

    #[tokio::test]
    async fn a_negative_baking_time_is_malformed() {
        let (bake, sink) = bake();
        let event = inbound(
            &bake.ctx.sys().topics,
            Topic::Assembled,
            "order-1",
            br#"{"status": 200, "baking_time": -1, "timestamp": 1}"#,
        );
        let handled = bake.handle(&event).await;
        assert!(
            matches!(handled, Err(HandleError::Malformed(_))),
            "{handled:?}"
        );
        assert_eq!(sink.sent(), []);
    }
}
