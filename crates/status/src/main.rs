//! Status: the Query side. Folds `pizza-status` into the orders view the web app reads, and runs
//! a watchdog that flags orders stuck between stages.

mod view_writer;
mod watchdog;

use std::process::ExitCode;
use std::sync::Arc;

use common::context::ServiceContext;
use common::kafka::{HandleError, Handler, Inbound};
use common::periodic::{retention, RETENTION_PERIOD};
use common::service::Service;
use common::services::ServiceName;
use common::settings::Topic;
use common::status::StatusAt;
use common::store::{open_order_store, OrderStore, StatusChange};

use view_writer::ViewWriter;

struct Status {
    ctx: Arc<ServiceContext>,
    store: Arc<dyn OrderStore>,
    view: ViewWriter,
}

impl Service for Status {
    const NAME: ServiceName = ServiceName::Status;
    const CONSUMES: &'static [Topic] = &[Topic::Status];
    const PRODUCES: &'static [Topic] = &[];

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
        let incoming: StatusAt = event.decode()?;
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
