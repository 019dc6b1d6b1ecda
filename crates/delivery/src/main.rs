//! Delivery: stateful. `pizza-ordered` is the early warning (which customer the order is for);
//! `pizza-baked` says the pizza is ready. The two may arrive in either order: baked first means
//! `pizza-pending` until the early warning arrives, and then a delivery that takes twice as long.

mod decision;
mod delivered_log;

use std::process::ExitCode;
use std::sync::Arc;

use common::domain::events::{now_ms, EventError, PizzaOrdered};
use common::domain::route::{self, delivery_seconds};
use common::domain::status::StatusAt;
use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{HandleError, Inbound};
use common::runtime::backoff::Backoff;
use common::service::{Handler, Service, ServiceContext};
use store::retention::{retention, RETENTION_PERIOD};
use store::{open_delivery_store, DeliveryState, DeliveryStore, Versioned};

use decision::{decide, delivered, released, Action, Notice};
use delivered_log::{DeliveredLog, DeliveredTopic};

/// How much earlier than a claim's start a delivered event is looked for: event times come
/// from the producing host's clock.
const CLOCK_SLACK_MS: i64 = 60_000;

struct Delivery {
    ctx: Arc<ServiceContext>,
    store: Arc<dyn DeliveryStore>,
    delivered_log: Box<dyn DeliveredLog>,
    claim_ms: i64,
}

/// A notice that must wait for another instance's delivery of the same order.
#[derive(Debug, thiserror::Error)]
#[error("order '{order_id}' is out for delivery elsewhere; its claim lapses in {left_ms} ms")]
struct ClaimedElsewhere {
    order_id: String,
    left_ms: i64,
}

impl Service for Delivery {
    const NAME: ServiceName = ServiceName::Delivery;

    async fn start(ctx: Arc<ServiceContext>) -> anyhow::Result<Self> {
        let store = open_delivery_store(&ctx.sys().delivery_store).await?;
        let delivered_log = Box::new(DeliveredTopic {
            kafka: ctx.settings.kafka.clone(),
            client_id: ctx.sys().client_ids.of(Self::NAME).to_owned(),
            topic: ctx.sys().topics.delivered.clone(),
        });
        // How long a claim lasts is shared with the tests that wait for every claim to lapse.
        let claim = route::claim(ctx.sys().time_scale);
        Ok(Self {
            ctx,
            store,
            delivered_log,
            claim_ms: i64::try_from(claim.as_millis()).unwrap_or(i64::MAX),
        })
    }

    async fn chores(self: Arc<Self>) {
        retention(self.store.as_ref(), RETENTION_PERIOD, &self.ctx.shutdown).await;
    }
}

impl Handler for Delivery {
    async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
        let order_id = event.order_id()?;
        let ordered: Option<PizzaOrdered> = match event.kind {
            Topic::Ordered => Some(event.decode()?),
            _ => {
                let _baked: StatusAt = event.decode()?;
                None
            }
        };
        let notice = match &ordered {
            Some(ordered) => {
                let customer_id = &ordered.order.customer_id;
                if delivery_seconds(customer_id, false).is_none() {
                    return Err(not_hexadecimal(customer_id).into());
                }
                tracing::info!(
                    "Early warning to deliver order '{order_id}' to customer_id '{customer_id}'"
                );
                Notice::EarlyWarning { customer_id }
            }
            None => Notice::Baked,
        };

        let (action, saved) = self.settle(&order_id, notice).await?;
        match action {
            Action::Remembered => Ok(()),
            Action::Nothing => {
                tracing::info!("Order '{order_id}' needs nothing more from delivery (repeated notice or already delivered)");
                Ok(())
            }
            Action::Wait { until } => Err(HandleError::transient(ClaimedElsewhere {
                order_id,
                left_ms: until - now_ms(),
            })),
            Action::Pending => {
                tracing::warn!(
                    "customer_id not associated to any order or invalid order '{order_id}'"
                );
                let pending = StatusAt {
                    status: self.ctx.sys().status.ids.pending,
                    timestamp: now_ms(),
                };
                self.ctx.emit(Topic::Pending, &order_id, &pending).await
            }
            Action::Deliver {
                customer_id,
                late,
                unless_delivered_since,
            } => {
                if let Some(since) = unless_delivered_since {
                    match self.delivered_since(&order_id, since).await {
                        Ok(None) => {}
                        Ok(Some(at)) => {
                            tracing::warn!(
                                "Order '{order_id}' was delivered by an earlier attempt that stopped before it could note it: no second driver"
                            );
                            // Its status may not have landed (the broker or the instance went
                            // between the two sends): without it the order would show as
                            // baked for ever. A repeat folds like any other.
                            let said = self.say_delivered(&order_id, at).await;
                            self.finish(&order_id, saved, said.is_ok()).await?;
                            return said;
                        }
                        Err(error) => {
                            self.finish(&order_id, saved, false).await?;
                            return Err(error);
                        }
                    }
                }
                let outcome = self.deliver(&order_id, &customer_id, late).await;
                self.finish(&order_id, saved, outcome.is_ok()).await?;
                outcome
            }
        }
    }
}

impl Delivery {
    /// When `pizza-delivered` got an event of the order written since `since` (ms), less a
    /// minute for clocks that differ between hosts.
    async fn delivered_since(
        &self,
        order_id: &str,
        since: i64,
    ) -> Result<Option<i64>, HandleError> {
        self.delivered_log
            .delivered_since(order_id, since - CLOCK_SLACK_MS)
            .await
    }

    /// The "delivered" status of an order whose delivered event, written `at` (ms), is on its
    /// topic already.
    async fn say_delivered(&self, order_id: &str, at: i64) -> Result<(), HandleError> {
        let delivered = StatusAt {
            status: self.ctx.sys().status.ids.delivered,
            timestamp: at,
        };
        Ok(self
            .ctx
            .sink
            .stage_status(Topic::Delivered, order_id, delivered)
            .await?)
    }

    /// Loads, decides and saves until the save lands on the state the decision was made from.
    async fn settle(
        &self,
        order_id: &str,
        notice: Notice<'_>,
    ) -> Result<(Action, Option<Versioned<DeliveryState>>), HandleError> {
        loop {
            let known = self.store.load(order_id).await?;
            let now = now_ms();
            let decision = decide(known.as_ref().map(|k| &k.value), notice, now, self.claim_ms);
            let Some(state) = decision.save else {
                return Ok((decision.action, known));
            };
            let expected = known.as_ref().map(|k| k.version);
            if self.store.save(order_id, &state, expected, now).await? {
                let saved = Versioned {
                    value: state,
                    version: expected.map_or(1, |v| v + 1),
                };
                return Ok((decision.action, Some(saved)));
            }
            // Another event of this order (here or on another instance) got there first.
        }
    }

    async fn deliver(
        &self,
        order_id: &str,
        customer_id: &str,
        late: bool,
    ) -> Result<(), HandleError> {
        let seconds =
            delivery_seconds(customer_id, late).ok_or_else(|| not_hexadecimal(customer_id))?;
        // The original's wording, spelling included, so the lines read as in the workshop guide.
        tracing::info!(
            "Deliverying order '{order_id}' for customer_id '{customer_id}', delivery time is {seconds} second(s)"
        );
        self.ctx.simulate(seconds as f64).await?;
        tracing::info!("Order '{order_id}' delivered to customer_id '{customer_id}'");
        let delivered = StatusAt {
            status: self.ctx.sys().status.ids.delivered,
            timestamp: now_ms(),
        };
        self.ctx.emit(Topic::Delivered, order_id, &delivered).await
    }

    /// Marks the claimed order delivered once the broker has the event (a crash in between
    /// delivers again after the claim lapses: at least once, never never), or releases the claim
    /// when the delivery was given up, so the replayed notice can deliver at once. A store that
    /// fails here is tried again rather than the whole delivery.
    async fn finish(
        &self,
        order_id: &str,
        claimed: Option<Versioned<DeliveryState>>,
        done: bool,
    ) -> Result<(), HandleError> {
        let Some(claimed) = claimed else {
            return Ok(());
        };
        let next = if done {
            delivered(&claimed.value)
        } else {
            released(&claimed.value, now_ms())
        };
        let mut backoff = Backoff::default();
        loop {
            match self
                .store
                .save(order_id, &next, Some(claimed.version), now_ms())
                .await
            {
                Ok(true) => return Ok(()),
                Ok(false) => {
                    tracing::warn!(
                        "Order '{order_id}' changed while out for delivery (its claim lapsed and another instance took it over)"
                    );
                    return Ok(());
                }
                Err(error) if !done => return Err(error.into()),
                Err(error) => tracing::warn!(
                    "Order '{order_id}' delivered but not yet marked so, retrying in {:?}: {}",
                    backoff.pause(),
                    common::runtime::logging::error_chain(&error)
                ),
            }
            if !backoff.wait(&self.ctx.shutdown).await {
                return Err(HandleError::Cancelled);
            }
        }
    }
}

fn not_hexadecimal(customer_id: &str) -> EventError {
    EventError::BadValue(format!("customer_id {customer_id:?} is not hexadecimal"))
}

fn main() -> ExitCode {
    common::service::run::<Delivery>()
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use common::kafka::{inbound, test_settings, RecordingSink};
    use common::settings::StoreLocation;

    use super::*;

    /// `pizza-delivered` as the recorder holds it.
    struct RecordedDeliveries(Arc<RecordingSink>);

    #[async_trait]
    impl DeliveredLog for RecordedDeliveries {
        async fn delivered_since(
            &self,
            order_id: &str,
            since: i64,
        ) -> Result<Option<i64>, HandleError> {
            let delivered = self.0.sent_to("pizza-delivered");
            Ok(delivered
                .iter()
                .filter(|sent| sent.key == order_id)
                .filter_map(|sent| sent.json()["timestamp"].as_i64())
                .find(|at| *at >= since))
        }
    }

    /// `int(CUSTOMER, 16) % 10 + 5` is 10 s (see `common::domain::route`), instant at `time_scale` 0.
    const CUSTOMER: &str = "d94a6c43d9f487c1bef659f05c002213";

    struct Shop {
        delivery: Delivery,
        sink: Arc<RecordingSink>,
        _dir: tempfile::TempDir,
    }

    async fn shop() -> Shop {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut settings = test_settings();
        settings.sys.delivery_store.location =
            StoreLocation::Sqlite(dir.path().join("delivery.db"));
        let (ctx, sink) = ServiceContext::recording(ServiceName::Delivery, settings);
        let mut delivery = Delivery::start(ctx).await.expect("store opens");
        delivery.delivered_log = Box::new(RecordedDeliveries(sink.clone()));
        Shop {
            delivery,
            sink,
            _dir: dir,
        }
    }

    impl Shop {
        fn ordered(&self, customer_id: &str) -> Inbound {
            let payload = format!(
                r#"{{"status": 100, "timestamp": 1676235639159, "order": {{"extra_toppings": [],
                "customer_id": "{customer_id}", "name": "Italo", "sauce": "Tomato",
                "cheese": "Mozzarella", "main_topping": "Pepperoni"}}}}"#
            );
            let topics = &self.delivery.ctx.sys().topics;
            inbound(topics, Topic::Ordered, "order-1", payload.as_bytes())
        }

        fn baked(&self) -> Inbound {
            let topics = &self.delivery.ctx.sys().topics;
            let payload = br#"{"status": 300, "timestamp": 1676235650000}"#;
            inbound(topics, Topic::Baked, "order-1", payload)
        }

        async fn state(&self) -> Option<DeliveryState> {
            let known = self.delivery.store.load("order-1").await.expect("loads");
            known.map(|k| k.value)
        }

        fn statuses(&self) -> Vec<Option<i64>> {
            let sent = self.sink.sent_to("pizza-status");
            sent.iter().map(|s| s.json()["status"].as_i64()).collect()
        }
    }

    #[tokio::test]
    async fn an_early_warning_alone_is_remembered_and_sends_nothing() {
        let shop = shop().await;
        shop.delivery
            .handle(&shop.ordered(CUSTOMER))
            .await
            .expect("handled");
        assert_eq!(shop.sink.sent(), []);
        let state = shop.state().await.expect("remembered");
        assert_eq!(state.customer_id.as_deref(), Some(CUSTOMER));
        assert!(!state.baked);
    }

    #[tokio::test]
    async fn warned_then_baked_is_delivered_on_time() {
        let shop = shop().await;
        shop.delivery
            .handle(&shop.ordered(CUSTOMER))
            .await
            .expect("handled");
        shop.delivery.handle(&shop.baked()).await.expect("handled");

        let delivered = shop.sink.sent_to("pizza-delivered");
        assert_eq!(delivered.len(), 1, "{:?}", shop.sink.sent());
        assert_eq!(delivered[0].key, "order-1");
        assert_eq!(delivered[0].json()["status"], 999);
        assert_eq!(shop.statuses(), [Some(999)]);
        assert_eq!(shop.sink.sent_to("pizza-pending"), []);
        let state = shop.state().await.expect("kept");
        assert!(state.delivered && !state.late, "{state:?}");
        assert_eq!(state.claimed_until, None);
    }

    #[tokio::test]
    async fn baked_before_the_early_warning_is_pending_then_delivered_late() {
        let shop = shop().await;
        shop.delivery.handle(&shop.baked()).await.expect("handled");
        let pending = shop.sink.sent_to("pizza-pending");
        assert_eq!(pending.len(), 1, "{:?}", shop.sink.sent());
        assert_eq!(pending[0].key, "order-1");
        assert_eq!(pending[0].json()["status"], 150);
        assert_eq!(shop.statuses(), [Some(150)]);
        assert_eq!(shop.sink.sent_to("pizza-delivered"), []);

        shop.delivery
            .handle(&shop.ordered(CUSTOMER))
            .await
            .expect("handled");
        assert_eq!(shop.sink.sent_to("pizza-delivered").len(), 1);
        assert_eq!(shop.statuses(), [Some(150), Some(999)]);
        let state = shop.state().await.expect("kept");
        assert!(state.delivered && state.late, "{state:?}");
    }

    #[tokio::test]
    async fn notices_heard_again_after_delivery_send_nothing_more() {
        let shop = shop().await;
        shop.delivery
            .handle(&shop.ordered(CUSTOMER))
            .await
            .expect("handled");
        shop.delivery.handle(&shop.baked()).await.expect("handled");
        let before = shop.sink.sent();
        shop.delivery.handle(&shop.baked()).await.expect("handled");
        shop.delivery
            .handle(&shop.ordered(CUSTOMER))
            .await
            .expect("handled");
        assert_eq!(shop.sink.sent(), before);
    }

    #[tokio::test]
    async fn a_customer_id_that_is_not_hexadecimal_is_malformed_and_not_remembered() {
        let shop = shop().await;
        let handled = shop.delivery.handle(&shop.ordered("not-hex")).await;
        assert!(
            matches!(
                handled,
                Err(HandleError::Malformed(EventError::BadValue(_)))
            ),
            "{handled:?}"
        );
        assert_eq!(shop.sink.sent(), []);
        assert_eq!(shop.state().await, None);
    }

    #[tokio::test]
    async fn a_baked_event_that_is_not_one_is_malformed() {
        let shop = shop().await;
        let topics = &shop.delivery.ctx.sys().topics;
        let event = inbound(topics, Topic::Baked, "order-1", b"{}");
        let handled = shop.delivery.handle(&event).await;
        assert!(
            matches!(handled, Err(HandleError::Malformed(_))),
            "{handled:?}"
        );
        assert_eq!(shop.state().await, None);
    }

    #[tokio::test]
    async fn a_delivery_the_broker_refuses_is_retried_and_its_claim_released() {
        let shop = shop().await;
        shop.sink.fail("pizza-delivered");
        shop.delivery
            .handle(&shop.ordered(CUSTOMER))
            .await
            .expect("handled");
        let handled = shop.delivery.handle(&shop.baked()).await;
        assert!(
            matches!(handled, Err(HandleError::Transient(_))),
            "{handled:?}"
        );
        let state = shop.state().await.expect("kept");
        assert!(!state.delivered, "{state:?}");
        // Released: lapsed at once, so the replayed notice can deliver without waiting.
        let until = state.claimed_until.expect("an ended claim");
        assert!(until <= now_ms(), "{state:?}");
    }

    /// The broker took the delivered event and went before it took the status: the redo finds
    /// the event on its topic, sends no second driver, and says "delivered" after all, at the
    /// event's time; until the status lands, the order is not noted as delivered.
    #[tokio::test]
    async fn a_delivery_whose_status_did_not_land_is_not_repeated_and_its_status_is_sent_again() {
        let shop = shop().await;
        shop.delivery
            .handle(&shop.ordered(CUSTOMER))
            .await
            .expect("handled");
        shop.sink.fail("pizza-status");
        for attempt in ["the delivery", "its redo"] {
            let handled = shop.delivery.handle(&shop.baked()).await;
            assert!(
                matches!(handled, Err(HandleError::Transient(_))),
                "{attempt}: {handled:?}"
            );
            assert_eq!(shop.sink.sent_to("pizza-delivered").len(), 1, "{attempt}");
            let state = shop.state().await.expect("kept");
            assert!(!state.delivered, "{attempt}: {state:?}");
        }
        assert_eq!(shop.statuses(), []);

        shop.sink.recover("pizza-status");
        shop.delivery.handle(&shop.baked()).await.expect("handled");
        let delivered = shop.sink.sent_to("pizza-delivered");
        assert_eq!(delivered.len(), 1, "no second driver: {delivered:?}");
        let statuses = shop.sink.sent_to("pizza-status");
        assert_eq!(shop.statuses(), [Some(999)]);
        assert_eq!(
            statuses[0].json()["timestamp"],
            delivered[0].json()["timestamp"]
        );
        let state = shop.state().await.expect("kept");
        assert!(state.delivered, "{state:?}");
    }
}
