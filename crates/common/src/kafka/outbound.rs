//! What a service sends: each stage's event and the stage's `pizza-status` event, which is the
//! service's to write unless ksqlDB's persistent queries copy it. Who writes it is decided here,
//! once for every sender: `[status-events] produced_by` when set; otherwise what the cluster
//! shows (see `query_watch`), so each status reaches `pizza-status` once.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::{self, Either, FutureExt};
use rdkafka::message::{Header, OwnedHeaders};
use tokio_util::sync::CancellationToken;

use crate::domain::status::{StatusAt, StatusWritten};
use crate::domain::topics::Topic;
use crate::domain::wiring::ServiceName;
use crate::runtime::logging::error_chain;
use crate::settings::{KafkaSettings, Settings, StatusSource, Topics};

use super::producer::{acknowledged, EventProducer, Landed};
use super::query_watch::{HandOver, QueryWatch};
use super::ProduceError;
use super::{DeadLetter, EventSink, StageSent};

/// Kafka's [`EventSink`]: cheap to clone (one `Arc`), for the tasks that see to a status.
#[derive(Clone)]
pub struct Outbound(Arc<Inner>);

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("producer", &self.0.producer)
            .field("topics", &self.0.topics)
            .finish_non_exhaustive()
    }
}

struct Inner {
    producer: EventProducer,
    /// Who the statuses say wrote them (`written_by`).
    writer: ServiceName,
    topics: Topics,
    writers: StatusWriters,
}

/// Who writes the status events of the stages.
enum StatusWriters {
    /// This service, always (`produced_by = services`).
    Us,
    /// ksqlDB, always (`produced_by = ksqldb`).
    KsqlDb,
    /// This service, except for the stages a running query is seen to copy.
    Watched(QueryWatch),
}

impl Outbound {
    /// A sender of the statuses of `stages` (besides their events). Without a `produced_by`,
    /// it looks at the cluster for ksqlDB's queries before it returns, and then every few
    /// seconds until `stop`.
    pub async fn new(
        producer: EventProducer,
        settings: &Settings,
        writer: ServiceName,
        stages: &[Topic],
        client_id: &str,
        stop: &CancellationToken,
    ) -> Self {
        let writers = match settings.sys.status_source {
            StatusSource::Services => StatusWriters::Us,
            StatusSource::KsqlDb => StatusWriters::KsqlDb,
            StatusSource::Detect => {
                watch(
                    &settings.kafka,
                    &settings.sys.topics,
                    stages,
                    client_id,
                    stop,
                )
                .await
            }
        };
        Self(Arc::new(Inner {
            producer,
            writer,
            topics: settings.sys.topics.clone(),
            writers,
        }))
    }

    pub fn producer(&self) -> &EventProducer {
        &self.0.producer
    }

    /// Sends a stage's event and sees to its status event: sent alongside when it is ours,
    /// left to ksqlDB when a query copies it (and sent after all if the query stops first). An
    /// event that breaks its topic's contract is refused before anything is sent: its status is
    /// not sent either, since the stage was never reached.
    async fn stage_payload(
        &self,
        stage: Topic,
        order_id: &str,
        payload: &[u8],
        at: StatusAt,
    ) -> StageSent {
        let topic = self.0.topics.name(stage);
        let producer = &self.0.producer;
        if let Err(refused) = producer.check(topic, order_id.as_bytes(), payload) {
            return StageSent {
                stage: Err(refused),
                status: future::ready(Ok(())).boxed(),
            };
        }
        let sent = producer.send_checked(topic, order_id, payload, None);
        self.stage_sent(stage, order_id, at, sent).await
    }

    /// Sees to the status of a stage whose event `sent` is on its way.
    async fn stage_sent(
        &self,
        stage: Topic,
        order_id: &str,
        at: StatusAt,
        sent: impl Future<Output = Result<Landed, ProduceError>>,
    ) -> StageSent {
        let query = match &self.0.writers {
            StatusWriters::Us => None,
            StatusWriters::KsqlDb => {
                return StageSent {
                    stage: sent.await,
                    status: future::ready(Ok(())).boxed(),
                }
            }
            StatusWriters::Watched(watch) => watch.deriving(stage).map(|_| watch.clone()),
        };
        let Some(watch) = query else {
            // Both are under way at once; the stage's result is known as soon as the broker has
            // it, so a sender that need not wait for the status (the web app) does not.
            let (outbound, id) = (self.clone(), order_id.to_owned());
            let status = async move { outbound.send_status(&id, at).await.map(|_| ()) }.boxed();
            return match future::select(Box::pin(sent), status).await {
                Either::Left((stage, status)) => StageSent { stage, status },
                Either::Right((status, sent)) => StageSent {
                    stage: sent.await,
                    status: future::ready(status).boxed(),
                },
            };
        };
        let stage_sent = sent.await;
        let status = match &stage_sent {
            Ok(landed) => {
                let (outbound, order_id, landed) = (self.clone(), order_id.to_owned(), *landed);
                async move {
                    match watch.handed_over(stage, landed).await {
                        HandOver::Copied => Ok(()),
                        HandOver::Returned(reason) => {
                            tracing::warn!(
                                "Order '{order_id}': {reason}; its status {} is written here",
                                at.status
                            );
                            outbound.send_status(&order_id, at).await.map(|_| ())
                        }
                    }
                }
                .boxed()
            }
            // No stage event, so nothing for ksqlDB to copy either.
            Err(_) => future::ready(Ok(())).boxed(),
        };
        StageSent {
            stage: stage_sent,
            status,
        }
    }

    /// A status on `pizza-status`, saying who wrote it.
    async fn send_status(&self, order_id: &str, at: StatusAt) -> Result<Landed, ProduceError> {
        let written = StatusWritten::new(at, self.0.writer);
        self.0
            .producer
            .send_json(&self.0.topics.status, order_id, &written)
            .await
    }
}

#[async_trait]
impl EventSink for Outbound {
    async fn stage(
        &self,
        stage: Topic,
        order_id: &str,
        payload: Vec<u8>,
        status: StatusAt,
    ) -> StageSent {
        self.stage_payload(stage, order_id, &payload, status).await
    }

    async fn stage_status(
        &self,
        stage: Topic,
        order_id: &str,
        at: StatusAt,
    ) -> Result<(), ProduceError> {
        if self.left_to_ksqldb(stage) {
            return Ok(());
        }
        self.send_status(order_id, at).await.map(|_| ())
    }

    /// No query derives these (a dead letter's `something_wrong`), so they are always ours.
    async fn status(&self, order_id: &str, at: StatusAt) -> Result<(), ProduceError> {
        self.send_status(order_id, at).await.map(|_| ())
    }

    /// Always with `produced_by = ksqldb`, never with `services`, otherwise while a query is
    /// seen copying it.
    fn left_to_ksqldb(&self, stage: Topic) -> bool {
        match &self.0.writers {
            StatusWriters::Us => false,
            StatusWriters::KsqlDb => true,
            StatusWriters::Watched(watch) => watch.deriving(stage).is_some(),
        }
    }

    /// Not logged as produced, unlike the shop's own events: the loop has already logged it as
    /// skipped, with its origin and reason.
    async fn dead_letter(&self, topic: &str, letter: &DeadLetter) -> Result<(), ProduceError> {
        let headers = letter
            .headers
            .iter()
            .fold(OwnedHeaders::new(), |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: Some(value.as_str()),
                })
            });
        let producer = &self.0.producer;
        let delivery = producer.enqueue(topic, &letter.key, &letter.payload, Some(headers))?;
        acknowledged(topic, delivery).await?;
        producer.count_sent(topic);
        Ok(())
    }
}

async fn watch(
    kafka: &KafkaSettings,
    topics: &Topics,
    stages: &[Topic],
    client_id: &str,
    stop: &CancellationToken,
) -> StatusWriters {
    let stages: Vec<Topic> = stages
        .iter()
        .copied()
        .filter(|s| Topic::STAGES.contains(s))
        .collect();
    if stages.is_empty() {
        return StatusWriters::Us;
    }
    match QueryWatch::start(kafka, client_id, topics, &stages, stop).await {
        Ok(watch) => StatusWriters::Watched(watch),
        Err(error) => {
            tracing::warn!(
                "Cannot watch the cluster for ksqlDB's queries ({}): this service writes every status itself",
                error_chain(&error)
            );
            StatusWriters::Us
        }
    }
}
