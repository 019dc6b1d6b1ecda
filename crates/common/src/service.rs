//! A kitchen service, declared once: its name, what it reads and writes, and what it does with
//! one event. [`run`] does the rest, the same way for every service.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use crate::context::ServiceContext;
use crate::kafka::{run_consumer, Handler};
use crate::services::ServiceName;
use crate::settings::Topic;

pub trait Service: Handler + Sized {
    const NAME: ServiceName;
    /// The topics its consumer group reads.
    const CONSUMES: &'static [Topic];
    /// The topics it writes, besides `pizza-status` and the dead-letter topic.
    const PRODUCES: &'static [Topic];

    /// Builds the service once its producer is connected (opens its store, …).
    fn start(ctx: Arc<ServiceContext>) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// Work beside the consume loop until shutdown: the watchdog, retention clean-up.
    fn chores(self: Arc<Self>) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// The whole life of a service: configuration, logging, signals, connecting, consuming until
/// SIGINT or SIGTERM, leaving the group cleanly.
pub fn run<S: Service>() -> ExitCode {
    crate::app::run(S::NAME.as_str(), |settings, shutdown| async move {
        let ctx = ServiceContext::connect(S::NAME, settings, S::PRODUCES, shutdown).await?;
        let service = Arc::new(S::start(ctx.clone()).await?);
        let consume = run_consumer(ctx, S::CONSUMES, service.clone());
        let (consumed, ()) = tokio::join!(consume, service.chores());
        consumed?;
        Ok(())
    })
}
