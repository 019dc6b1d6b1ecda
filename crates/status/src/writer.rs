//! Folds status events into the view in batches. Whatever events wait while the writer is busy go
//! into its next transaction: under load, one commit and one hand-off to a blocking thread for
//! many events instead of one each; at light load a batch is a single event, with no added wait.
//! Each handler still waits for the commit of its own event, so its offset is stored only after.

use std::sync::Arc;

use common::events::now_ms;
use common::kafka::HandleError;
use common::status::StatusAt;
use common::store::{blocking, OrderStore, StatusChange};
use tokio::sync::{mpsc, oneshot};

/// The most events in one transaction; the consume loop has at most 256 in flight anyway.
const MAX_BATCH: usize = 256;

struct Pending {
    order_id: String,
    incoming: StatusAt,
    done: oneshot::Sender<Result<StatusChange, String>>,
}

#[derive(Clone)]
pub struct StatusWriter {
    queue: mpsc::Sender<Pending>,
}

impl StatusWriter {
    /// Starts the writer task; it ends when the last `StatusWriter` is dropped.
    pub fn start(store: Arc<dyn OrderStore>) -> Self {
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
                write(&store, batch).await;
            }
        });
        Self { queue }
    }

    /// Folds one event into the view; returns once it is committed.
    pub async fn update(
        &self,
        order_id: &str,
        incoming: StatusAt,
    ) -> Result<StatusChange, HandleError> {
        let stopped = || HandleError::Transient("the status writer has stopped".into());
        let (done, committed) = oneshot::channel();
        let pending = Pending {
            order_id: order_id.to_owned(),
            incoming,
            done,
        };
        self.queue.send(pending).await.map_err(|_| stopped())?;
        committed
            .await
            .map_err(|_| stopped())?
            .map_err(HandleError::Transient)
    }
}

async fn write(store: &Arc<dyn OrderStore>, batch: Vec<Pending>) {
    let updates: Vec<(String, StatusAt)> = batch
        .iter()
        .map(|p| (p.order_id.clone(), p.incoming))
        .collect();
    let store = store.clone();
    let written = blocking(move || store.update_order_statuses(&updates, now_ms())).await;
    match written {
        Ok(changes) => {
            for (pending, change) in batch.into_iter().zip(changes) {
                let _ = pending.done.send(Ok(change));
            }
        }
        // The whole transaction rolled back: every handler retries its own event.
        Err(error) => {
            let error = error.to_string();
            for pending in batch {
                let _ = pending.done.send(Err(error.clone()));
            }
        }
    }
}
