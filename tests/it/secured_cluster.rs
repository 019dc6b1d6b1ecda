//! The cloud path: the whole pipeline through a Kafka configuration shaped like
//! `config_kafka/example.ini` (`security.protocol = SASL_SSL`, an API key and secret), against a
//! broker that refuses clients without credentials.
//!
//! The local broker serves TLS itself (with a certificate the test makes) and authenticates with
//! SCRAM only, so the mechanism here is SCRAM-SHA-512; against Confluent Cloud the same file says
//! `PLAIN`.

use std::time::Duration;

use std::sync::Mutex;

use common::kafka::producer_config;
use common::settings::{IniFile, KafkaSettings};
use pizza_tests::{Broker, Shop};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;

fn kafka_settings(text: &str) -> KafkaSettings {
    KafkaSettings::from_ini(&IniFile::parse(std::path::Path::new("k.ini"), text).expect("ini"))
        .expect("settings")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_runs_over_sasl_ssl_with_credentials_from_the_kafka_ini() {
    let (broker, ca) = Broker::start_secured(&[("shop", "s3cret-key")]);
    let example = std::fs::read_to_string(
        pizza_tests::binaries::workspace_root().join("config_kafka/example.ini"),
    )
    .expect("example.ini");
    // example.ini as a participant fills it in: the broker, the key and the secret; the local
    // broker's mechanism and the test's certificate authority are all that is added.
    let kafka = example
        .replace("{{ host:port }}", &broker.bootstrap())
        .replace("{{ KAFKA_CLUSTER_API_KEY }}", "shop")
        .replace("{{ KAFKA_CLUSTER_API_SECRET }}", "s3cret-key")
        .replace("sasl.mechanisms = PLAIN", "sasl.mechanisms = SCRAM-SHA-512")
        + &format!("ssl.ca.location = {}\n", ca.display());
    assert!(kafka.contains("security.protocol = SASL_SSL"));

    // The shop creates its topics with the real credentials.
    let shop = Shop::open_with_kafka(&kafka, &[]).await;
    assert_eq!(
        what_the_broker_says(&kafka),
        Ok(()),
        "with the right secret"
    );

    // Without the secret, without TLS or without credentials the broker lets no one in, and
    // says why: each refusal is the broker's, not a client that failed on its own.
    let refused = [
        (
            "a wrong secret",
            kafka.replace("s3cret-key", "guess"),
            "SASL authentication error",
        ),
        (
            // A plain request to a TLS listener is closed before its first answer.
            "no TLS",
            kafka.replace("SASL_SSL", "SASL_PLAINTEXT"),
            "closed by peer: receive 0 after POLLIN (after 0ms in state APIVERSION_QUERY",
        ),
        (
            // TLS is up, and the first request without authentication closes the connection.
            "no credentials",
            format!(
                "[kafka]\nbootstrap.servers = {}\nsecurity.protocol = SSL\nssl.ca.location = {}\n",
                broker.bootstrap(),
                ca.display()
            ),
            "SSL connection closed by peer",
        ),
    ];
    for (what, text, reason) in &refused {
        let said = what_the_broker_says(text).expect_err(what);
        assert!(
            said.iter().any(|line| line.contains(reason)),
            "a client with {what} should be refused with \"{reason}\"; librdkafka said:\n{}",
            said.join("\n")
        );
    }

    let _services = shop.start_pipeline();
    let producer = shop.producer().await;
    let orders: Vec<String> = (0..5).map(|n| format!("5ec0{n:04x}")).collect();
    for id in &orders {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&orders, 999, Duration::from_secs(60))
        .await;
}

/// What librdkafka logged and reported while a client asked for a topic's metadata: `Ok` when
/// the broker answered, or every line it said when it did not.
fn what_the_broker_says(kafka_ini: &str) -> Result<(), Vec<String>> {
    let mut config = producer_config(&kafka_settings(kafka_ini), "intruder");
    // Disconnects are logged at Info and Warning; the default level keeps only errors.
    config.set_log_level(RDKafkaLogLevel::Info);
    let producer: BaseProducer<Said> = config
        .create_with_context(Said::default())
        .expect("a client of this configuration");
    let answer = producer
        .client()
        .fetch_metadata(Some("pizza-ordered"), Duration::from_secs(5));
    // Errors reach the context only while the client is polled.
    for _ in 0..10 {
        producer.poll(Duration::from_millis(100));
    }
    match answer {
        Ok(_) => Ok(()),
        Err(error) => {
            let mut said = producer
                .context()
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            said.push(format!("metadata: {error}"));
            Err(said)
        }
    }
}

/// Collects what librdkafka logs and reports as errors.
#[derive(Default)]
struct Said(Mutex<Vec<String>>);

impl Said {
    fn push(&self, line: String) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }
}

impl ClientContext for Said {
    fn log(&self, _level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.push(format!("{facility}: {message}"));
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.push(format!("{error}: {reason}"));
    }
}

impl ProducerContext for Said {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}
