//! A librdkafka producer whose acknowledgements arrive as futures.
//!
//! librdkafka reports each acknowledgement on the producer's queue, which some thread must poll.
//! rdkafka's own `FutureProducer` polls in 100 ms slices and, because each wait is truncated to
//! whole milliseconds, busy-waits through the last millisecond of every slice: about 1% of a core
//! for every idle producer, which was most of an idle service's CPU. This one polls in slices of
//! five seconds, so the same millisecond is lost once in five seconds; an acknowledgement still
//! wakes the poll the moment it arrives.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::client::{Client, ClientContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientConfig;
use tokio::sync::oneshot;

use super::produce_error::ProduceError;

/// Where an acknowledged event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landed {
    pub partition: i32,
    pub offset: i64,
}

/// Resolves when the broker acknowledges the event, or refuses it for good.
pub type Ack = oneshot::Receiver<Result<Landed, KafkaError>>;

pub(crate) struct AckContext;

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = Box<oneshot::Sender<Result<Landed, KafkaError>>>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(message) => Ok(Landed {
                partition: message.partition(),
                offset: message.offset(),
            }),
            Err((error, _)) => Err(error.clone()),
        };
        // The caller may have stopped waiting (shutdown); nobody is left to tell.
        let _ = ack.send(outcome);
    }
}

/// How long one poll waits for an acknowledgement; also how long the polling thread may outlive
/// the producer's last handle.
const POLL_SLICE: Duration = Duration::from_secs(5);

/// The producer and the thread that polls it. Dropping the last handle tells the thread to stop;
/// it is not joined, so dropping never waits for a slice to end.
pub(crate) struct AckedProducer {
    producer: Arc<BaseProducer<AckContext>>,
    stop: Arc<AtomicBool>,
}

impl AckedProducer {
    pub(crate) fn create(config: &ClientConfig) -> Result<Self, ProduceError> {
        let producer: Arc<BaseProducer<AckContext>> = Arc::new(
            config
                .create_with_context(AckContext)
                .map_err(ProduceError::Create)?,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let polled = Arc::clone(&producer);
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("producer acks".to_owned())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    polled.poll(POLL_SLICE);
                }
            })
            .map_err(ProduceError::Thread)?;
        Ok(Self { producer, stop })
    }

    /// Hands the event to librdkafka and returns the future of its acknowledgement.
    pub(crate) fn send(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Ack, KafkaError> {
        let (tx, rx) = oneshot::channel();
        let mut record = BaseRecord::with_opaque_to(topic, Box::new(tx))
            .key(key)
            .payload(payload);
        if let Some(headers) = headers {
            record = record.headers(headers);
        }
        self.producer.send(record).map_err(|(error, _)| error)?;
        Ok(rx)
    }

    pub(crate) fn client(&self) -> &Client<AckContext> {
        self.producer.client()
    }
}

impl Drop for AckedProducer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
