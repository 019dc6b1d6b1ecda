//! The cloud path: the whole pipeline through a Kafka configuration shaped like
//! `config_kafka/example.ini` (SASL with a user name and secret), against a broker that refuses
//! clients without credentials.
//!
//! The local broker (tansu 0.6.0) authenticates with SCRAM only and does not serve TLS
//! (`--cert` and `--key` cannot be given together), so this runs SASL/SCRAM-SHA-512 over plain
//! TCP; against Confluent Cloud the same file says `SASL_SSL` and `PLAIN`.

use std::time::Duration;

use pizza_tests::{Broker, Shop};

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_runs_with_credentials_from_the_kafka_ini() {
    let broker = Broker::start_authenticated(&[("shop", "s3cret-key")]);
    let kafka = format!(
        "[kafka]\nbootstrap.servers = {}\nsecurity.protocol = SASL_PLAINTEXT\nsasl.mechanisms = SCRAM-SHA-512\n\
         sasl.username = shop\nsasl.password = s3cret-key\n",
        broker.bootstrap()
    );
    let shop = Shop::open_with_kafka(&kafka, &[]).await;
    let _services = shop.start_pipeline();
    let producer = shop.producer().await;
    let orders: Vec<String> = (0..5).map(|n| format!("5ec0{n:04x}")).collect();
    for id in &orders {
        shop.place_order(&producer, id).await;
    }
    shop.wait_for_all(&orders, 999, Duration::from_secs(60))
        .await;
}
