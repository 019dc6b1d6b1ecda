//! Status: the Query side. Folds `pizza-status` into the orders view the web app reads, and runs
//! a watchdog that flags orders stuck between stages.

mod view_writer;
mod watchdog;

use std::process::ExitCode;
use std::sync::Arc;

use common::domain::status::StatusEvent;
use common::domain::wiring::ServiceName;
use common::kafka::{HandleError, Inbound};
use common::service::{Handler, Service, ServiceContext};
use store::retention::{retention, RETENTION_PERIOD};
use store::{open_order_store, OrderStore, StatusChange};

use view_writer::ViewWriter;

struct Status {
    ctx: Arc<ServiceContext>,
    store: Arc<dyn OrderStore>,
    view: ViewWriter,
}

impl Service for Status {
    const NAME: ServiceName = ServiceName::Status;
    /// The Query side watches the whole shop: besides the view and the watchdog, the backlog of
    /// every group, there for Prometheus even while a kitchen service is down.
    const REPORTS_EVERY_GROUPS_LAG: bool = true;
    const COUNTERS: &'static [(&'static str, &'static str)] = &[(
        watchdog::FLAGGED_STUCK,
        "Orders the watchdog flagged stuck: no progress within status_invalid_timeout_minutes",
    )];

    async fn start(ctx: Arc<ServiceContext>) -> anyhow::Result<Self> {
        let store = open_order_store(&ctx.sys().orders_store).await?;
        Ok(Self {
            view: ViewWriter::start(store.clone()),
            store,
            ctx,
        })
    }

    async fn chores(self: Arc<Self>) {
        let shutdown = &self.ctx.shutdown;
        tokio::join!(
            watchdog::run(&self.ctx, self.store.as_ref()),
            retention(self.store.as_ref(), RETENTION_PERIOD, shutdown),
        );
    }
}

impl Handler for Status {
    async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
        let order_id = event.order_id()?;
        let incoming = event.decode::<StatusEvent>()?.at;
        let status = incoming.status;
        match self.view.update(&order_id, incoming).await? {
            StatusChange::Updated { .. } => {
                let label = self.ctx.sys().status.label(status);
                tracing::info!("Order '{order_id}' status updated: {label} ({status})");
            }
            StatusChange::Ignored { current } => {
                tracing::info!("Order '{order_id}' status {status} ignored: the order already shows {current}, as recent or more");
            }
            StatusChange::UnknownOrder => {
                tracing::error!("Order '{order_id}' not found");
            }
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    common::service::run::<Status>()
}

#[cfg(test)]
mod tests {
    use common::domain::events::{OrderDetails, Pizza, PizzaOrdered};
    use common::domain::topics::Topic;
    use common::kafka::{inbound, test_settings, RecordingSink};
    use common::settings::StoreLocation;

    use common::domain::status::StatusAt;

    use super::*;

    const PLACED_AT: i64 = 1_676_235_639_159;

    struct Shop {
        status: Status,
        sink: Arc<RecordingSink>,
        _dir: tempfile::TempDir,
    }

    async fn shop() -> Shop {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut settings = test_settings();
        settings.sys.orders_store.location = StoreLocation::Sqlite(dir.path().join("orders.db"));
        let (ctx, sink) = ServiceContext::recording(ServiceName::Status, settings);
        let status = Status::start(ctx).await.expect("store opens");
        Shop {
            status,
            sink,
            _dir: dir,
        }
    }

    impl Shop {
        async fn place(&self, order_id: &str) {
            let placed = PizzaOrdered {
                status: self.status.ctx.sys().status.ids.order_placed,
                timestamp: PLACED_AT,
                order: OrderDetails {
                    customer_id: "d94a6c43".into(),
                    username: "Italo".into(),
                    pizza: Pizza {
                        sauce: "Tomato".into(),
                        cheese: "Mozzarella".into(),
                        main_topping: "Pepperoni".into(),
                        extra_toppings: Vec::new(),
                    },
                },
            };
            self.status
                .store
                .add_order(order_id, &placed, PLACED_AT)
                .await
                .expect("placed");
        }

        async fn handle(&self, order_id: &str, payload: &str) -> Result<(), HandleError> {
            let topics = &self.status.ctx.sys().topics;
            let event = inbound(topics, Topic::Status, order_id, payload.as_bytes());
            self.status.handle(&event).await
        }

        async fn shows(&self, order_id: &str) -> Option<StatusAt> {
            let order = self.status.store.get_order(order_id).await.expect("reads");
            order.map(|o| o.status)
        }
    }

    fn at(status: i64, timestamp: i64) -> StatusAt {
        StatusAt { status, timestamp }
    }

    #[tokio::test]
    async fn a_newer_status_is_folded_into_the_view() {
        let shop = shop().await;
        shop.place("order-1").await;
        let later = PLACED_AT + 1_000;
        shop.handle(
            "order-1",
            &format!(r#"{{"status": 200, "timestamp": {later}}}"#),
        )
        .await
        .expect("handled");
        assert_eq!(shop.shows("order-1").await, Some(at(200, later)));
        assert_eq!(shop.sink.sent(), []);
    }

    #[tokio::test]
    async fn ksqldbs_upper_case_fields_are_folded_too() {
        let shop = shop().await;
        shop.place("order-1").await;
        let later = PLACED_AT + 1_000;
        shop.handle(
            "order-1",
            &format!(r#"{{"STATUS": 300, "TIMESTAMP": {later}}}"#),
        )
        .await
        .expect("handled");
        assert_eq!(shop.shows("order-1").await, Some(at(300, later)));
    }

    #[tokio::test]
    async fn an_older_status_is_skipped() {
        let shop = shop().await;
        shop.place("order-1").await;
        let (early, late) = (PLACED_AT + 1_000, PLACED_AT + 2_000);
        shop.handle(
            "order-1",
            &format!(r#"{{"status": 300, "timestamp": {late}}}"#),
        )
        .await
        .expect("handled");
        shop.handle(
            "order-1",
            &format!(r#"{{"status": 200, "timestamp": {early}}}"#),
        )
        .await
        .expect("handled, as a skip");
        assert_eq!(shop.shows("order-1").await, Some(at(300, late)));
        assert_eq!(shop.sink.sent(), []);
    }

    #[tokio::test]
    async fn a_status_of_an_unknown_order_is_skipped_without_adding_it() {
        let shop = shop().await;
        shop.handle("order-9", r#"{"status": 200, "timestamp": 1}"#)
            .await
            .expect("handled, as a skip");
        assert_eq!(shop.shows("order-9").await, None);
        assert_eq!(shop.sink.sent(), []);
    }

    #[tokio::test]
    async fn a_status_that_is_not_one_is_malformed_and_changes_nothing() {
        let shop = shop().await;
        shop.place("order-1").await;
        let handled = shop.handle("order-1", r#"{"status": "baked"}"#).await;
        assert!(
            matches!(handled, Err(HandleError::Malformed(_))),
            "{handled:?}"
        );
        assert_eq!(shop.shows("order-1").await, Some(at(100, PLACED_AT)));
    }
}
