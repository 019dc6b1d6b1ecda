//! Client settings on top of the user's `[kafka]` section. Each default here is applied only
//! where the file is silent, so an operator can always override it.

use rdkafka::ClientConfig;

use crate::settings::kafka::set_default;
use crate::settings::{ClientRole, KafkaSettings};

/// `client.id` may carry the host name, so the broker can tell instances apart; `group.id` never
/// does, so instances on other hosts share their group's work instead of repeating it.
pub fn with_host(client_id: &str) -> String {
    let host = gethostname::gethostname();
    let host = host.to_string_lossy();
    if host.is_empty() {
        client_id.to_owned()
    } else {
        format!("{client_id}-{host}")
    }
}

/// Partitions added to a live topic (scaling out) are seen within this: producers spread new
/// events over them and groups rebalance to read them. librdkafka's default is five minutes,
/// during which producers that have seen the new count and those that have not put an order's
/// events on different partition numbers; the cost is one metadata request per client per period.
const METADATA_REFRESH_MS: &str = "30000";

/// The longest pause between attempts to reach a broker that went away: the Java client's
/// `reconnect.backoff.max.ms`. librdkafka's own is 10 s, so after a broker restart a client
/// could sit idle up to 10 s more, customers' orders waiting on it; an attempt a second at a
/// broker that refuses the connection costs nothing worth saving.
const RECONNECT_BACKOFF_MAX_MS: &str = "1000";

/// The user's `[kafka]` section for `role`, with what every client of the shop shares.
pub(super) fn base_config(kafka: &KafkaSettings, role: ClientRole) -> ClientConfig {
    let mut config = kafka.client_config(role);
    set_default(
        &mut config,
        "reconnect.backoff.max.ms",
        RECONNECT_BACKOFF_MAX_MS,
    );
    config
}

fn follow_partition_counts(config: &mut ClientConfig) {
    set_default(
        config,
        "topic.metadata.refresh.interval.ms",
        METADATA_REFRESH_MS,
    );
}

pub fn consumer_config(kafka: &KafkaSettings, group_id: &str, client_id: &str) -> ClientConfig {
    let mut config = base_config(kafka, ClientRole::Consumer);
    follow_partition_counts(&mut config);
    config.set("group.id", group_id);
    set_default(&mut config, "client.id", &with_host(client_id));
    // At least once: offsets are stored by the loop only after an event is fully handled, and
    // librdkafka commits the stored ones in the background.
    config.set("enable.auto.offset.store", "false");
    set_default(&mut config, "enable.auto.commit", "true");
    // Each second rather than librdkafka's five: the shop floor counts what waits for a group
    // from its committed offsets, and showed work done seconds ago as still waiting. A commit
    // goes out only when a stored offset moved, so an idle consumer sends none.
    set_default(&mut config, "auto.commit.interval.ms", "1000");
    set_default(&mut config, "auto.offset.reset", "earliest");
    // The range assignor gives one member the same partition number of every subscribed topic,
    // which delivery needs: an order's `pizza-ordered` and `pizza-baked` events share a key, so
    // on co-partitioned topics they reach the same instance.
    set_default(&mut config, "partition.assignment.strategy", "range");
    // fetch.wait.max.ms keeps librdkafka's 500 ms: Kafka answers a fetch as soon as an event
    // arrives, so the wait only bounds how often an idle consumer asks. The local broker looks
    // for events only a few times within the wait, so config_kafka/localhost.ini sets its own.
    // A crashed member holds its partitions until the session times out (45 s by default).
    set_default(&mut config, "session.timeout.ms", "10000");
    set_default(&mut config, "heartbeat.interval.ms", "1000");
    config
}

/// A reader that is assigned partitions directly and commits nothing: it joins no group, so
/// it disturbs no one's assignment (`group.id` is only required by librdkafka, never used).
pub(super) fn client_config_for_lookup(kafka: &KafkaSettings, client_id: &str) -> ClientConfig {
    let mut config = base_config(kafka, ClientRole::Consumer);
    let reader = with_host(client_id) + "-lookup";
    config.set("group.id", &reader);
    set_default(&mut config, "client.id", &reader);
    config.set("enable.auto.commit", "false");
    config
}

pub fn producer_config(kafka: &KafkaSettings, client_id: &str) -> ClientConfig {
    let mut config = base_config(kafka, ClientRole::Producer);
    follow_partition_counts(&mut config);
    set_default(&mut config, "client.id", &with_host(client_id));
    // Retries never duplicate or reorder an event, and an acknowledged event is on every
    // in-sync replica.
    set_default(&mut config, "enable.idempotence", "true");
    set_default(&mut config, "acks", "all");
    // An event leaves at once instead of waiting up to 1 ms for others (librdkafka's default
    // is 5): each hop of an order is a produce, so a wait is paid four times before an order
    // is delivered. Under load events still travel together, gathered while earlier requests
    // are in flight (benchmarks/RESULTS.md, run 15: the same peak and broker CPU per order).
    set_default(&mut config, "linger.ms", "0");
    // An event the broker has not acknowledged within 10 s fails (librdkafka's default is five
    // minutes): a customer is told the order did not go through while they still wait for the
    // page, a handler retries with back-off, and an event cannot land long after its sender
    // gave up on it (delivery's claims rely on that).
    set_default(&mut config, "message.timeout.ms", "10000");
    // The Java client's partitioner for keyed events (librdkafka's own default, CRC32, is not),
    // so Java and Rust producers put an order's events on the same partition number of every
    // topic; `crate::kafka::partitioner` computes the same, for those who look an event up.
    set_default(&mut config, "partitioner", "murmur2_random");
    never_create_topics(&mut config);
    config
}

pub fn admin_config(kafka: &KafkaSettings, client_id: &str) -> ClientConfig {
    let mut config = base_config(kafka, ClientRole::Admin);
    set_default(&mut config, "client.id", &with_host(client_id));
    never_create_topics(&mut config);
    config
}

/// librdkafka lets a producer's (and an admin client's) metadata request create a topic it asks
/// about, and brokers with `auto.create.topics.enable` (Kafka's default, and the local broker's)
/// do so, with the broker's partition count instead of `[kafka-topic-config]`. Topics are the
/// shop's to create (`run_me_first`, the dead-letter topic), so asking never creates one.
fn never_create_topics(config: &mut ClientConfig) {
    set_default(config, "allow.auto.create.topics", "false");
}
