//! What a running service holds: its configuration, its producer and the shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::app::Startup;
use crate::events::StageReached;
use crate::kafka::{producer_config, EventProducer, HandleError, ProduceError};
use crate::settings::{KafkaSettings, StatusSource, SysSettings};

pub struct ServiceContext {
    pub service: &'static str,
    pub kafka: KafkaSettings,
    pub sys: SysSettings,
    pub producer: EventProducer,
    pub shutdown: CancellationToken,
}

impl ServiceContext {
    /// Connects the producer for the topics a service writes to (plus `pizza-status` and the
    /// dead-letter topic, which every service may need).
    pub async fn connect(
        service: &'static str,
        client_id: &str,
        startup: Startup,
        produces_to: &[&str],
    ) -> Result<Arc<Self>, ProduceError> {
        let Startup {
            kafka,
            sys,
            shutdown,
            ..
        } = startup;
        let mut topics: Vec<&str> = produces_to.to_vec();
        topics.extend([sys.topics.status.as_str(), sys.topics.dead_letter.as_str()]);
        let config = producer_config(&kafka, client_id);
        let producer = EventProducer::connect(&config, &topics, &shutdown).await?;
        Ok(Arc::new(Self {
            service,
            kafka,
            sys,
            producer,
            shutdown,
        }))
    }

    /// Spends a simulated stage time (scaled by `[simulation] time_scale`), giving up at once on
    /// shutdown so a bake never holds the process.
    pub async fn simulate(&self, seconds: f64) -> Result<(), HandleError> {
        let Ok(scaled) = Duration::try_from_secs_f64(seconds * self.sys.time_scale) else {
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

    /// Produces a stage's event and, unless ksqlDB derives them, its `pizza-status` event too;
    /// returns once the broker has acknowledged both.
    pub async fn emit_stage<T: Serialize>(
        &self,
        topic: &str,
        order_id: &str,
        event: &T,
        status: StageReached,
    ) -> Result<(), HandleError> {
        let stage = self.producer.send_json(topic, order_id, event);
        if self.sys.status_source == StatusSource::Services {
            let status = self
                .producer
                .send_json(&self.sys.topics.status, order_id, &status);
            futures::try_join!(stage, status)?;
        } else {
            stage.await?;
        }
        Ok(())
    }
}
