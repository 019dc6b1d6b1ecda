//! The shop's configuration as the benchmark's runs start it: the shipped watchdog, the Kafka
//! lines given with `--kafka`, and the stores on PostgreSQL with `--store postgres`.

use pizza_tests::Broker;

/// The shipped watchdog: it queries the live view while orders flow, as in production.
pub(crate) const SHIPPED_WATCHDOG: [(&str, &str, &str); 2] = [
    ("state-store-orders", "status_watchdog_minutes", "0.25"),
    (
        "state-store-orders",
        "status_invalid_timeout_minutes",
        "0.75",
    ),
];

/// The broker's Kafka configuration with each `--kafka` line appended to its `[kafka]`.
pub(crate) fn kafka_ini(broker: &Broker, lines: &[String]) -> String {
    let mut kafka = broker.kafka_ini();
    for line in lines {
        kafka.push_str(line);
        kafka.push('\n');
    }
    kafka
}

/// Puts both stores on the PostgreSQL database at `url`.
pub(crate) fn stores_on_postgres<'a>(
    settings: &mut Vec<(&'a str, &'a str, &'a str)>,
    url: &'a str,
) {
    for section in ["state-store-orders", "state-store-delivery"] {
        settings.push((section, "db_module_class", "postgres"));
        settings.push((section, "name", url));
    }
}
