//! Assemble: the kitchen's first station. Reads `pizza-ordered`, puts the pizza together and
//! announces it on `pizza-assembled` with the baking time it needs.

mod recipe;

use std::process::ExitCode;
use std::sync::Arc;

use common::domain::events::{now_ms, PizzaAssembled, PizzaOrdered};
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{HandleError, Inbound};
use common::service::{Handler, Service, ServiceContext};

use recipe::{assembling_seconds, baking_seconds, recipe_seed};

struct Assemble {
    ctx: Arc<ServiceContext>,
}

impl Service for Assemble {
    const NAME: ServiceName = ServiceName::Assemble;

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

#[cfg(test)]
mod tests {
    use common::kafka::{inbound, test_settings, RecordingSink};

    use super::*;

    const ORDERED: &[u8] = br#"{"status": 100, "timestamp": 1676235639159, "order": {
        "extra_toppings": ["Mushroom", "Black olives"], "customer_id": "d94a6c43",
        "name": "Italo", "sauce": "Tomato", "cheese": "Mozzarella", "main_topping": "Pepperoni"}}"#;

    fn assemble() -> (Assemble, Arc<RecordingSink>) {
        let (ctx, sink) = ServiceContext::recording(ServiceName::Assemble, test_settings());
        (Assemble { ctx }, sink)
    }

    fn ordered(assemble: &Assemble, key: &str, payload: &[u8]) -> Inbound {
        inbound(&assemble.ctx.sys().topics, Topic::Ordered, key, payload)
    }

    #[tokio::test]
    async fn an_order_is_announced_assembled_with_its_baking_time_and_status() {
        let (assemble, sink) = assemble();
        let event = ordered(&assemble, "order-1", ORDERED);
        assemble.handle(&event).await.expect("handled");

        let sent = sink.sent();
        assert_eq!(sent.len(), 2, "{sent:?}");
        let (stage, status) = (&sent[0], &sent[1]);
        assert_eq!(stage.topic, "pizza-assembled");
        assert_eq!(stage.key, "order-1");
        // The recipe's baking time as the original computes it (see `recipe`'s tests).
        assert_eq!(stage.json()["baking_time"], 11);
        assert_eq!(stage.json()["status"], 200);
        assert_eq!(status.topic, "pizza-status");
        assert_eq!(status.key, "order-1");
        assert_eq!(status.json()["status"], 200);
        assert_eq!(status.json()["timestamp"], stage.json()["timestamp"]);
    }

    #[tokio::test]
    async fn an_order_that_is_not_an_order_is_malformed_and_sends_nothing() {
        let (assemble, sink) = assemble();
        for event in [
            ordered(&assemble, "order-1", b"{\"status\": 100}"),
            ordered(&assemble, "order-1", b"not json"),
            ordered(&assemble, "no spaces allowed", ORDERED),
        ] {
            let handled = assemble.handle(&event).await;
            assert!(
                matches!(handled, Err(HandleError::Malformed(_))),
                "{handled:?}"
            );
        }
        assert_eq!(sink.sent(), []);
    }

    #[tokio::test]
    async fn a_broker_that_refuses_the_event_is_worth_retrying() {
        let (assemble, sink) = assemble();
        sink.fail("pizza-assembled");
        let handled = assemble
            .handle(&ordered(&assemble, "order-1", ORDERED))
            .await;
        assert!(
            matches!(handled, Err(HandleError::Transient(_))),
            "{handled:?}"
        );
    }
}
