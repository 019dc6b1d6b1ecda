//! Which `[kafka]` properties reach which kind of client. One file serves every client, but
//! librdkafka warns (CONFWARN, in every log at start-up) when a producer is given a consumer
//! property or the other way round, so each client gets only the properties meant for it.
//! The scopes are librdkafka's own (`CONFIGURATION.md`, column C/P).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    Consumer,
    Producer,
    /// The admin client is a producer underneath, and needs neither kind of property.
    Admin,
}

/// Properties only a consumer reads.
const CONSUMER_ONLY: &[&str] = &[
    "auto.commit.enable",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "check.crcs",
    "consume.callback.max.messages",
    "coordinator.query.interval.ms",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "fetch.error.backoff.ms",
    "fetch.max.bytes",
    "fetch.message.max.bytes",
    "fetch.min.bytes",
    "fetch.queue.backoff.ms",
    "fetch.wait.max.ms",
    "group.id",
    "group.instance.id",
    "group.protocol",
    "group.protocol.type",
    "group.remote.assignor",
    "heartbeat.interval.ms",
    "isolation.level",
    "max.partition.fetch.bytes",
    "max.poll.interval.ms",
    "offset.store.method",
    "offset.store.path",
    "offset.store.sync.interval.ms",
    "partition.assignment.strategy",
    "queued.max.messages.kbytes",
    "queued.min.messages",
    "session.timeout.ms",
];

/// Properties only a producer reads.
const PRODUCER_ONLY: &[&str] = &[
    "acks",
    "batch.num.messages",
    "batch.size",
    "compression.codec",
    "compression.level",
    "compression.type",
    "delivery.report.only.error",
    "delivery.timeout.ms",
    "enable.gapless.guarantee",
    "enable.idempotence",
    "linger.ms",
    "message.send.max.retries",
    "message.timeout.ms",
    "partitioner",
    "produce.offset.report",
    "queue.buffering.backpressure.threshold",
    "queue.buffering.max.kbytes",
    "queue.buffering.max.messages",
    "queue.buffering.max.ms",
    "queuing.strategy",
    "request.required.acks",
    "request.timeout.ms",
    "retries",
    "sticky.partitioning.linger.ms",
    "transaction.timeout.ms",
    "transactional.id",
];

impl ClientRole {
    /// Whether a client in this role should be given `key`. Unknown keys pass, so librdkafka
    /// still names a misspelt one.
    pub fn reads(self, key: &str) -> bool {
        let consumer_only = CONSUMER_ONLY.contains(&key);
        let producer_only = PRODUCER_ONLY.contains(&key);
        match self {
            Self::Consumer => !producer_only,
            Self::Producer => !consumer_only,
            Self::Admin => !consumer_only && !producer_only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_gets_its_own_and_the_shared_properties() {
        use ClientRole::*;
        for (key, consumer, producer, admin) in [
            ("bootstrap.servers", true, true, true),
            ("sasl.password", true, true, true),
            ("fetch.wait.max.ms", true, false, false),
            ("session.timeout.ms", true, false, false),
            ("linger.ms", false, true, false),
            ("acks", false, true, false),
            ("no.such.property", true, true, true),
        ] {
            assert_eq!(Consumer.reads(key), consumer, "consumer {key}");
            assert_eq!(Producer.reads(key), producer, "producer {key}");
            assert_eq!(Admin.reads(key), admin, "admin {key}");
        }
    }

    #[test]
    fn no_property_is_listed_for_both_roles() {
        for key in CONSUMER_ONLY {
            assert!(!PRODUCER_ONLY.contains(key), "{key}");
        }
    }
}
