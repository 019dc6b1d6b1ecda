//! Folds status events into the view in batches. Whatever events wait while the writer is busy go
//! into its next transaction: under load, one commit for many events instead of one each; at
//! light load a batch is a single event, with no added wait. Each handler still waits for the
//! commit of its own event, so its offset is stored only after.

use std::sync::Arc;

use common::domain::events::now_ms;
use common::domain::status::StatusAt;
use common::kafka::HandleError;
use store::{StatusChange, StatusFold, StoreError};
use tokio::sync::{mpsc, oneshot};

/// The most events in one transaction; the consume loop has at most 256 in flight anyway.
const MAX_BATCH: usize = 256;

type Outcome = Result<StatusChange, Arc<StoreError>>;

struct Pending {
    order_id: String,
    incoming: StatusAt,
    done: oneshot::Sender<Outcome>,
}

/// The writer has stopped (its task ended); nothing more can be folded.
#[derive(Debug, thiserror::Error)]
#[error("the view writer has stopped")]
struct Stopped;

#[derive(Clone)]
pub(crate) struct ViewWriter {
    queue: mpsc::Sender<Pending>,
}

impl ViewWriter {
    /// Starts the writer task; it ends when the last `ViewWriter` is dropped.
    pub(crate) fn start(store: Arc<dyn StatusFold>) -> Self {
        let (queue, mut waiting) = mpsc::channel::<Pending>(MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match waiting.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                write(store.as_ref(), batch).await;
            }
        });
        Self { queue }
    }

    /// Folds one event into the view; returns once it is committed.
    pub(crate) async fn update(
        &self,
        order_id: &str,
        incoming: StatusAt,
    ) -> Result<StatusChange, HandleError> {
        let (done, committed) = oneshot::channel();
        let pending = Pending {
            order_id: order_id.to_owned(),
            incoming,
            done,
        };
        self.queue
            .send(pending)
            .await
            .map_err(|_| HandleError::transient(Stopped))?;
        committed
            .await
            .map_err(|_| HandleError::transient(Stopped))?
            .map_err(HandleError::transient)
    }
}

async fn write(store: &dyn StatusFold, batch: Vec<Pending>) {
    let updates = batch
        .iter()
        .map(|p| (p.order_id.clone(), p.incoming))
        .collect();
    match store.update_statuses(updates, now_ms()).await {
        Ok(changes) => {
            for (pending, change) in batch.into_iter().zip(changes) {
                let _ = pending.done.send(Ok(change));
            }
        }
        // The whole transaction rolled back: every handler retries its own event.
        Err(error) => {
            let error = Arc::new(error);
            for pending in batch {
                let _ = pending.done.send(Err(error.clone()));
            }
        }
    }
}
