//! What a running service holds: its name, its configuration, what it sends with, and the
//! shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::contracts::Contracts;
use crate::domain::events::{python_json, StageEvent};
use crate::domain::topics::Topic;
use crate::domain::wiring::ServiceName;
#[cfg(any(test, feature = "testing"))]
use crate::kafka::RecordingSink;
use crate::kafka::{
    ensure_topic, producer_config, EventProducer, EventSink, HandleError, Outbound, ProduceError,
    TopicOutcome,
};
use crate::metrics::Metrics;
use crate::runtime::logging::error_chain;
use crate::settings::{Settings, SysSettings};

pub struct ServiceContext {
    pub name: ServiceName,
    pub settings: Settings,
    /// Kafka's [`Outbound`] in a running service; a recorder in a handler's tests.
    pub sink: Arc<dyn EventSink>,
    /// `None` when the cluster has no dead-letter topic and would not let us create one: dead
    /// letters are then kept in the log.
    pub dead_letter_topic: Option<String>,
    pub shutdown: CancellationToken,
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for ServiceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceContext")
            .field("name", &self.name)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

impl ServiceContext {
    /// Connects the producer for the topics the service writes (plus `pizza-status` and the
    /// dead-letter topic, which every service may need).
    pub async fn connect(
        name: ServiceName,
        settings: Settings,
        produces: &[Topic],
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, ProduceError> {
        Self::connect_with(name, settings, produces, shutdown, Arc::default()).await
    }

    /// [`Self::connect`], counting in `metrics` what the service consumes, sends and handles.
    pub async fn connect_with(
        name: ServiceName,
        settings: Settings,
        produces: &[Topic],
        shutdown: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, ProduceError> {
        let dead_letter_topic = dead_letter_topic(&settings).await;
        let sys = &settings.sys;
        let mut topics = sys.topics.names(produces);
        topics.push(&sys.topics.status);
        topics.extend(dead_letter_topic.as_deref());
        let client_id = sys.client_ids.of(name);
        let config = producer_config(&settings.kafka, client_id);
        metrics.writing(&topics);
        let producer = EventProducer::connect(&config, &topics, &shutdown)
            .await?
            .counted(metrics.clone());
        // `app::run` has stopped the program already if the contracts do not compile.
        let producer = match Contracts::shop() {
            Ok(contracts) => producer.bound_by(contracts, &sys.topics),
            Err(_) => producer,
        };
        let outbound =
            Outbound::new(producer, &settings, name, produces, client_id, &shutdown).await;
        Ok(Arc::new(Self {
            name,
            settings,
            sink: Arc::new(outbound),
            dead_letter_topic,
            shutdown,
            metrics,
        }))
    }

    /// A context that needs no broker: whatever the service sends goes to a [`RecordingSink`],
    /// returned beside it, and dead letters to the configured dead-letter topic.
    #[cfg(any(test, feature = "testing"))]
    pub fn recording(name: ServiceName, settings: Settings) -> (Arc<Self>, Arc<RecordingSink>) {
        let sink = Arc::new(RecordingSink::new(name, settings.sys.topics.clone()));
        let ctx = Arc::new(Self {
            name,
            dead_letter_topic: Some(settings.sys.topics.dead_letter.clone()),
            settings,
            sink: sink.clone(),
            shutdown: CancellationToken::new(),
            metrics: Arc::default(),
        });
        (ctx, sink)
    }

    pub fn sys(&self) -> &SysSettings {
        &self.settings.sys
    }

    /// Spends a simulated stage time (scaled by `[simulation] time_scale`), giving up at once on
    /// shutdown so a bake never holds the process.
    pub async fn simulate(&self, seconds: f64) -> Result<(), HandleError> {
        let Ok(scaled) = Duration::try_from_secs_f64(seconds * self.sys().time_scale) else {
            return Ok(());
        };
        if scaled.is_zero() {
            return Ok(());
        }
        tokio::select! {
            () = self.shutdown.cancelled() => Err(HandleError::Cancelled),
            () = tokio::time::sleep(scaled) => Ok(()),
        }
    }

    /// Sends a stage's event (and its status event, when that is ours to write); returns once
    /// the broker has acknowledged them.
    pub async fn emit<E: StageEvent>(
        &self,
        stage: Topic,
        order_id: &str,
        event: &E,
    ) -> Result<(), HandleError> {
        let payload = python_json::to_vec(event).map_err(|source| ProduceError::Encode {
            topic: self.sys().topics.name(stage).to_owned(),
            source,
        })?;
        Ok(self
            .sink
            .stage(stage, order_id, payload, event.status_at())
            .await
            .all()
            .await?)
    }
}

/// The dead-letter topic, created when it is missing (the guide creates only the original's six
/// topics); `None`, said once, when the cluster will not have it.
async fn dead_letter_topic(settings: &Settings) -> Option<String> {
    let name = &settings.sys.topics.dead_letter;
    match ensure_topic(&settings.kafka, &settings.sys, Topic::DeadLetter).await {
        Ok(TopicOutcome::AlreadyThere) => Some(name.clone()),
        Ok(TopicOutcome::Created) => {
            tracing::info!("Topic '{name}' created for dead letters");
            Some(name.clone())
        }
        Err(error) => {
            tracing::warn!(
                "No dead-letter topic '{name}' ({}): events that cannot be handled are kept in this log instead",
                error_chain(&error)
            );
            None
        }
    }
}
