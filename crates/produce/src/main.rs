//! Writes one event to a shop topic as any producer could (a console producer, another team's
//! service), without the shop's own contract check, and says what the broker answered. For
//! trying the contracts out (the README's "Break a contract"): a broker that enforces them, as
//! the local one does, refuses a value that breaks its topic's contract, and the refusal is kept
//! on the dead-letter topic with the rule it breaks, where the shop floor counts it.
//!
//! ```text
//! produce [--key KEY] TOPIC VALUE [KAFKA_CONFIG [SYS_CONFIG]]
//! produce pizza-baked '{"status": "baked", "timestamp": 1}'
//! ```
//!
//! The key defaults to a new order id, so the event concerns no real order. Exit code 0 when
//! the broker took the event, 1 when it did not.

use std::process::ExitCode;

use common::contracts::{Contracts, Violation};
use common::domain::events::now_ms;
use common::domain::topics::Topic;
use common::kafka::{acknowledged, producer_config, EventProducer, ProduceError};
use common::metrics::{CaughtBy, CONTRACT_REASON};
use common::runtime::logging::error_chain;
use common::settings::{Settings, USAGE_ARGS};
use rdkafka::message::{Header, OwnedHeaders};

const NAME: &str = "produce";

/// What the command line asks for, before the configuration files.
#[derive(Debug)]
struct Request {
    topic: String,
    value: String,
    key: String,
}

fn usage() -> String {
    format!("[--key KEY] TOPIC VALUE {USAGE_ARGS}")
}

/// `--key KEY` (anywhere before the files), then TOPIC and VALUE; what is left is the files.
fn parse(args: &[String]) -> Result<(Request, Vec<String>), String> {
    let mut key = None;
    let mut positional = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--key" => key = Some(rest.next().ok_or("--key needs a value")?.clone()),
            _ => positional.push(arg.clone()),
        }
    }
    let mut positional = positional.into_iter();
    let topic = positional.next().ok_or("no TOPIC given")?;
    let value = positional.next().ok_or("no VALUE given")?;
    let key = key.unwrap_or_else(|| format!("{:08x}", rand::random::<u32>()));
    Ok((Request { topic, value, key }, positional.collect()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(args.first().map(String::as_str), Some("-h" | "--help")) {
        println!("usage: {NAME} {}", usage());
        return ExitCode::SUCCESS;
    }
    let (request, files) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(problem) => {
            eprintln!("{NAME}: {problem}");
            eprintln!("usage: {NAME} {}", usage());
            return ExitCode::FAILURE;
        }
    };
    common::runtime::app::run_with(NAME, &usage(), &files, |settings, shutdown| async move {
        let topics = &settings.sys.topics;
        let Some(kind) = topics.topic(&request.topic) else {
            anyhow::bail!(
                "'{}' is not one of the shop's topics ({})",
                request.topic,
                topics.names(&Topic::ALL).join(", ")
            );
        };
        let dead_letters = topics.dead_letter.as_str();
        let config = producer_config(&settings.kafka, NAME);
        let producer =
            EventProducer::connect(&config, &[&request.topic, dead_letters], &shutdown).await?;
        tracing::info!(
            "Writing to topic '{}', key '{}': {}",
            request.topic,
            request.key,
            request.value
        );
        let sent = producer
            .send(&request.topic, &request.key, request.value.as_bytes(), None)
            .await;
        match sent {
            Ok(landed) => {
                tracing::info!(
                    "Taken: topic '{}', partition #{}, offset #{}",
                    request.topic,
                    landed.partition,
                    landed.offset
                );
                Ok(())
            }
            Err(error @ ProduceError::Contract { .. }) => {
                let rule = broken_rule(kind, &request);
                tracing::error!(
                    "Refused by the broker, as it breaks the contract of topic '{}': {}",
                    request.topic,
                    rule.as_ref()
                        .map_or_else(|| error_chain(&error), ToString::to_string)
                );
                keep_refused(&producer, &settings, &request, rule).await;
                anyhow::bail!("the event was refused")
            }
            Err(error) => Err(error.into()),
        }
    })
}

/// Which rule the value breaks, as this program's copy of the contracts says (the broker does
/// not say).
fn broken_rule(kind: Topic, request: &Request) -> Option<Violation> {
    let contract = Contracts::shop().ok()?.of_topic(kind)?;
    contract
        .check_key(&request.key)
        .and_then(|()| contract.check_payload(request.value.as_bytes()))
        .err()
}

/// Keeps the refused event on the dead-letter topic as it came, with why, as the services'
/// dead letters are kept (it never had a partition or an offset of its own).
async fn keep_refused(
    producer: &EventProducer,
    settings: &Settings,
    request: &Request,
    rule: Option<Violation>,
) {
    let topic = settings.sys.topics.dead_letter.as_str();
    let rule = rule.map_or_else(|| "refused by the broker".to_owned(), |r| r.to_string());
    let refused_at = now_ms().to_string();
    let headers = [
        ("error.reason", CONTRACT_REASON),
        ("error.service", NAME),
        ("error.topic", request.topic.as_str()),
        ("error.contract", request.topic.as_str()),
        ("error.rule", rule.as_str()),
        ("error.caught_by", CaughtBy::Broker.as_str()),
        ("error.time", refused_at.as_str()),
    ]
    .into_iter()
    .fold(OwnedHeaders::new(), |headers, (key, value)| {
        headers.insert(Header {
            key,
            value: Some(value),
        })
    });
    let kept = match producer.enqueue(
        topic,
        request.key.as_bytes(),
        request.value.as_bytes(),
        Some(headers),
    ) {
        Ok(delivery) => acknowledged(topic, delivery).await,
        Err(error) => Err(error),
    };
    match kept {
        Ok(landed) => tracing::info!(
            "Kept on topic '{topic}' (partition #{}, offset #{}), where the shop floor counts it",
            landed.partition,
            landed.offset
        ),
        Err(error) => tracing::warn!("Not kept on topic '{topic}': {}", error_chain(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_key_may_come_first_and_the_files_come_last() {
        let (request, files) = parse(&args(&[
            "--key",
            "c0ffee00",
            "pizza-baked",
            "{}",
            "localhost.ini",
        ]))
        .expect("parses");
        assert_eq!(request.key, "c0ffee00");
        assert_eq!(request.topic, "pizza-baked");
        assert_eq!(request.value, "{}");
        assert_eq!(files, ["localhost.ini"]);
    }

    #[test]
    fn without_a_key_a_new_order_id_is_made() {
        let (request, files) = parse(&args(&["pizza-baked", "{}"])).expect("parses");
        assert_eq!(request.key.len(), 8);
        assert!(files.is_empty());
    }

    #[test]
    fn topic_and_value_are_required() {
        assert_eq!(
            parse(&args(&["pizza-baked"])).expect_err("no value"),
            "no VALUE given"
        );
        assert_eq!(
            parse(&args(&["--key"])).expect_err("no key"),
            "--key needs a value"
        );
    }
}
