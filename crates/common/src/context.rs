//! What a running service holds: its configuration, its producer and the shutdown signal.

use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::events::StageReached;
use crate::kafka::{EventProducer, HandleError};
use crate::settings::{KafkaSettings, StatusSource, SysSettings};

pub struct ServiceContext {
    pub service: &'static str,
    pub kafka: KafkaSettings,
    pub sys: SysSettings,
    pub producer: EventProducer,
    pub shutdown: CancellationToken,
}

impl ServiceContext {
    /// Spends a simulated stage time (scaled by `[simulation] time_scale`), giving up at once on
    /// shutdown so a bake never holds the process.
    pub async fn simulate(&self, seconds: f64) -> Result<(), HandleError> {
        let scaled = (seconds * self.sys.time_scale).max(0.0);
        if scaled == 0.0 {
            return Ok(());
        }
        tokio::select! {
            () = self.shutdown.cancelled() => Err(HandleError::Cancelled),
            () = tokio::time::sleep(Duration::from_secs_f64(scaled)) => Ok(()),
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
            let status = self.producer.send_json(&self.sys.topics.status, order_id, &status);
            futures::try_join!(stage, status)?;
        } else {
            stage.await?;
        }
        Ok(())
    }
}
