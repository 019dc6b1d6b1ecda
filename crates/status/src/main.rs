//! Status: the Query side. Folds `pizza-status` into the orders view the web app reads, and runs
//! a watchdog that flags orders stuck between stages.

mod watchdog;
mod writer;

use std::process::ExitCode;
use std::sync::Arc;

use common::context::ServiceContext;
use common::events::StageReached;
use common::kafka::{run_consumer, HandleError, Handler, Inbound};
use common::status::StatusAt;
use common::store::{open_order_store, StatusChange, StatusRules};

use writer::StatusWriter;

struct Status {
    ctx: Arc<ServiceContext>,
    writer: StatusWriter,
}

impl Handler for Status {
    async fn handle(&self, event: &Inbound) -> Result<(), HandleError> {
        let order_id = event.order_id()?;
        let reached: StageReached = event.decode()?;
        let incoming = StatusAt {
            status: reached.status,
            timestamp: reached.timestamp,
        };
        let change = self.writer.update(&order_id, incoming).await?;
        let status = reached.status;
        match change {
            StatusChange::Updated { .. } => {
                let label = self.ctx.sys.status.label(status);
                tracing::info!("Order '{order_id}' status updated: {label} ({status})");
            }
            StatusChange::Ignored { current } => {
                tracing::info!("Order '{order_id}' status {status} ignored: the order already shows {current}, as recent or more");
            }
            StatusChange::UnknownOrder => {
                tracing::warn!(
                    "Order '{order_id}' is unknown; status {status} from {} skipped",
                    event.origin()
                );
            }
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    common::app::run("status", |startup| async move {
        let sys = &startup.sys;
        let group = sys.group_ids.status.clone();
        let client = sys.client_ids.status.clone();
        let consumes = sys.topics.status.clone();
        let ids = sys.status.ids;
        let rules = StatusRules {
            completed: sys.orders_store.status_completed_when.clone(),
            unwatched: vec![ids.something_wrong],
        };
        let store = open_order_store(&sys.orders_store, rules)?;
        let ctx = ServiceContext::connect("status", &client, startup, &[]).await?;

        let handler = Arc::new(Status {
            ctx: ctx.clone(),
            writer: StatusWriter::start(store.clone()),
        });
        let subscriptions = [consumes.as_str()];
        let consume = run_consumer(ctx.clone(), &group, &client, &subscriptions, handler);
        let watch = watchdog::run(&ctx, store);
        let (consumed, ()) = tokio::join!(consume, watch);
        consumed?;
        Ok(())
    })
}
