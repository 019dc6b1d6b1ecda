//! The cloud path: the whole pipeline through a Kafka configuration shaped like
//! `config_kafka/example.ini` (`security.protocol = SASL_SSL`, an API key and secret), against a
//! broker that refuses clients without credentials.
//!
//! The local broker (tansu 0.6.0) authenticates with SCRAM only and cannot serve TLS itself, so
//! TLS is put in front of it (stunnel, `harness/tls.rs`) and the mechanism is SCRAM-SHA-512;
//! against Confluent Cloud the same file says `PLAIN`.

use std::time::Duration;

use common::kafka::{producer_config, EventProducer};
use common::settings::{IniFile, KafkaSettings};
use pizza_tests::{Broker, Shop};

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

    // Without the secret, or without TLS, the broker lets no one in: such a client never even
    // learns the topic's partitions, while the real one does at once.
    let topics = ["pizza-ordered"];
    let attempts = [
        ("the right secret", kafka.clone()),
        ("a wrong secret", kafka.replace("s3cret-key", "guess")),
        ("no TLS", kafka.replace("SASL_SSL", "SASL_PLAINTEXT")),
        (
            "no credentials",
            format!(
                "[kafka]\nbootstrap.servers = {}\nsecurity.protocol = SSL\nssl.ca.location = {}\n",
                broker.bootstrap(),
                ca.display()
            ),
        ),
    ];
    // The shop creates its topics with the real credentials.
    let shop = Shop::open_with_kafka(&kafka, &[]).await;
    let connected = futures::future::join_all(attempts.iter().map(|(_, text)| async {
        let config = producer_config(&kafka_settings(text), "intruder");
        let shutdown = Default::default();
        let connecting = EventProducer::connect(&config, &topics, &shutdown);
        matches!(
            tokio::time::timeout(Duration::from_secs(15), connecting).await,
            Ok(Ok(_))
        )
    }))
    .await;
    for ((what, _), connected) in attempts.iter().zip(connected) {
        assert_eq!(
            connected,
            *what == "the right secret",
            "a client with {what}"
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
