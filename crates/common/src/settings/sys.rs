//! `config_sys/<name>.ini`: topics, consumer groups, status codes and labels, the menu, the
//! state stores, the simulation speed and the web app.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{IniFile, SettingsError};
use crate::status::{StatusCatalog, StatusIds};

#[derive(Debug, Clone)]
pub struct SysSettings {
    pub topics: Topics,
    pub topic_config: TopicConfig,
    pub group_ids: GroupIds,
    pub client_ids: ClientIds,
    pub status: StatusCatalog,
    pub status_source: StatusSource,
    pub menu: Menu,
    pub orders_store: OrdersStoreSettings,
    pub delivery_store: DeliveryStoreSettings,
    /// Multiplies every simulated stage time; 0 makes the kitchen instant.
    pub time_scale: f64,
    pub webapp: WebappSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub pending: String,
    pub ordered: String,
    pub assembled: String,
    pub baked: String,
    pub delivered: String,
    pub status: String,
    /// Where events that cannot be handled are copied, with the reason in a header.
    pub dead_letter: String,
}

impl Topics {
    pub fn all(&self) -> [&str; 7] {
        [
            &self.ordered,
            &self.assembled,
            &self.baked,
            &self.delivered,
            &self.pending,
            &self.status,
            &self.dead_letter,
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicConfig {
    pub num_partitions: i32,
    pub replication_factor: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupIds {
    pub assemble: String,
    pub bake: String,
    pub delivery: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIds {
    pub webapp: String,
    pub assemble: String,
    pub bake: String,
    pub delivery: String,
    pub status: String,
    pub admin: String,
}

/// Who writes `pizza-status`: each service for its own stage (the default, nothing but a broker
/// needed), or ksqlDB's persistent queries from `ksql/`, in which case the services stay quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSource {
    Services,
    KsqlDb,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub sauce: Vec<String>,
    pub cheese: Vec<String>,
    pub main_topping: Vec<String>,
    pub extra_toppings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrdersStoreSettings {
    pub db_module_class: String,
    pub name: PathBuf,
    pub table_orders: String,
    pub table_status: String,
    pub table_orders_retention_hours: f64,
    pub status_watchdog_minutes: f64,
    pub status_invalid_timeout_minutes: f64,
    /// Status codes after which an order is finished and no longer watched.
    pub status_completed_when: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryStoreSettings {
    pub db_module_class: String,
    pub name: PathBuf,
    pub table_customers: String,
    pub table_customers_retention_hours: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebappSettings {
    pub bind: SocketAddr,
    /// Key of the (encrypted, authenticated) session cookies; generated on first start, readable by its owner only.
    pub session_key_file: PathBuf,
}

impl SysSettings {
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        Self::from_ini(&IniFile::load(path)?)
    }

    pub fn from_ini(file: &IniFile) -> Result<Self, SettingsError> {
        let status = StatusCatalog::from_ini(file)?;
        Ok(Self {
            topics: topics(file)?,
            topic_config: TopicConfig {
                num_partitions: positive(file, "kafka-topic-config", "num_partitions")?,
                replication_factor: positive(file, "kafka-topic-config", "replication_factor")?,
            },
            group_ids: GroupIds {
                assemble: file.string("kafka-consumer-group-id", "assemble")?,
                bake: file.string("kafka-consumer-group-id", "bake")?,
                delivery: file.string("kafka-consumer-group-id", "delivery")?,
                status: file.string("kafka-consumer-group-id", "status")?,
            },
            client_ids: ClientIds {
                webapp: file.string("kafka-client-id", "webapp")?,
                assemble: file.string("kafka-client-id", "assemble")?,
                bake: file.string("kafka-client-id", "bake")?,
                delivery: file.string("kafka-client-id", "delivery")?,
                status: file.string("kafka-client-id", "status")?,
                admin: file.string("kafka-client-id", "admin")?,
            },
            status_source: status_source(file)?,
            menu: Menu {
                sauce: file.list("pizza", "sauce")?,
                cheese: file.list("pizza", "cheese")?,
                main_topping: file.list("pizza", "main_topping")?,
                extra_toppings: file.list("pizza", "extra_toppings")?,
            },
            orders_store: orders_store(file, &status.ids)?,
            delivery_store: DeliveryStoreSettings {
                db_module_class: db_module_class(file, "state-store-delivery")?,
                name: file.string("state-store-delivery", "name")?.into(),
                table_customers: file.string("state-store-delivery", "table_customers")?,
                table_customers_retention_hours: non_negative(
                    file,
                    "state-store-delivery",
                    "table_customers_retention_hours",
                )?,
            },
            time_scale: non_negative(file, "simulation", "time_scale")?,
            webapp: WebappSettings {
                bind: file.parsed("webapp", "bind", "an address such as 127.0.0.1:8000")?,
                session_key_file: file.string("webapp", "session_key_file")?.into(),
            },
            status,
        })
    }
}

fn topics(file: &IniFile) -> Result<Topics, SettingsError> {
    let topic = |key: &str| file.string("kafka-topics", key);
    Ok(Topics {
        pending: topic("pizza_pending")?,
        ordered: topic("pizza_ordered")?,
        assembled: topic("pizza_assembled")?,
        baked: topic("pizza_baked")?,
        delivered: topic("pizza_delivered")?,
        status: topic("pizza_status")?,
        dead_letter: topic("dead_letter")?,
    })
}

fn status_source(file: &IniFile) -> Result<StatusSource, SettingsError> {
    match file.string("status-events", "produced_by")?.as_str() {
        "services" => Ok(StatusSource::Services),
        "ksqldb" => Ok(StatusSource::KsqlDb),
        other => Err(SettingsError::Invalid {
            file: file.path().to_path_buf(),
            section: "status-events".into(),
            key: "produced_by".into(),
            value: other.into(),
            expected: "services or ksqldb",
        }),
    }
}

fn orders_store(file: &IniFile, ids: &StatusIds) -> Result<OrdersStoreSettings, SettingsError> {
    const SECTION: &str = "state-store-orders";
    let completed = file
        .list(SECTION, "status_completed_when")?
        .into_iter()
        .map(|name| {
            ids.by_name(&name).ok_or_else(|| SettingsError::Invalid {
                file: file.path().to_path_buf(),
                section: SECTION.into(),
                key: "status_completed_when".into(),
                value: name,
                expected: "a list of names from [status-id]",
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(OrdersStoreSettings {
        db_module_class: db_module_class(file, SECTION)?,
        name: file.string(SECTION, "name")?.into(),
        table_orders: file.string(SECTION, "table_orders")?,
        table_status: file.string(SECTION, "table_status")?,
        table_orders_retention_hours: non_negative(file, SECTION, "table_orders_retention_hours")?,
        status_watchdog_minutes: positive_f64(file, SECTION, "status_watchdog_minutes")?,
        status_invalid_timeout_minutes: positive_f64(
            file,
            SECTION,
            "status_invalid_timeout_minutes",
        )?,
        status_completed_when: completed,
    })
}

/// The original picked a Python class by name; we keep the key and accept the implementations
/// this project has, so a typo stops the program instead of silently using another store.
fn db_module_class(file: &IniFile, section: &str) -> Result<String, SettingsError> {
    let class = file.string(section, "db_module_class")?;
    if crate::store::IMPLEMENTATIONS.contains(&class.as_str()) {
        Ok(class)
    } else {
        Err(SettingsError::Invalid {
            file: file.path().to_path_buf(),
            section: section.into(),
            key: "db_module_class".into(),
            value: class,
            expected: "a known state store (sqlite)",
        })
    }
}

fn positive(file: &IniFile, section: &str, key: &str) -> Result<i32, SettingsError> {
    file.checked(section, key, "a whole number above 0", |v: &i32| *v > 0)
}

fn non_negative(file: &IniFile, section: &str, key: &str) -> Result<f64, SettingsError> {
    file.checked(section, key, "a number of 0 or more", |v: &f64| {
        v.is_finite() && *v >= 0.0
    })
}

fn positive_f64(file: &IniFile, section: &str, key: &str) -> Result<f64, SettingsError> {
    file.checked(section, key, "a number above 0", |v: &f64| {
        v.is_finite() && *v > 0.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped_default() -> IniFile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config_sys/default.ini");
        IniFile::load(&path).expect("the shipped default.ini parses")
    }

    #[test]
    fn shipped_default_ini_is_complete() {
        let settings = SysSettings::from_ini(&shipped_default()).expect("valid settings");
        assert_eq!(settings.topics.ordered, "pizza-ordered");
        assert_eq!(settings.topics.status, "pizza-status");
        assert_eq!(settings.status.ids.delivered, 999);
        assert_eq!(settings.status.label(999), "Your pizza was delivered");
        assert_eq!(settings.orders_store.status_watchdog_minutes, 0.25);
        assert_eq!(settings.orders_store.status_invalid_timeout_minutes, 0.75);
        assert_eq!(settings.orders_store.status_completed_when, vec![999, 499]);
        assert_eq!(settings.time_scale, 1.0);
        assert_eq!(settings.webapp.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(settings.status_source, StatusSource::Services);
        assert!(settings.menu.extra_toppings.len() > 3);
    }

    #[test]
    fn every_missing_key_is_named() {
        let text = std::fs::read_to_string(shipped_default().path()).expect("readable");
        for (line_no, line) in text.lines().enumerate() {
            let Some((key, _)) = line.split_once('=') else {
                continue;
            };
            if line.starts_with([' ', '\t', '#', ';']) {
                continue;
            }
            let without: String = text
                .lines()
                .enumerate()
                .filter(|(n, _)| *n != line_no)
                .map(|(_, l)| format!("{l}\n"))
                .collect();
            let file = IniFile::parse(Path::new("default.ini"), &without).expect("still ini");
            let error = SysSettings::from_ini(&file).expect_err("a key is missing");
            assert!(
                error.to_string().contains(key.trim()),
                "removing {key:?} gave {error}"
            );
        }
    }

    #[test]
    fn negative_time_scale_is_refused() {
        let text = std::fs::read_to_string(shipped_default().path())
            .expect("readable")
            .replace("time_scale = 1.0", "time_scale = -2");
        let file = IniFile::parse(Path::new("default.ini"), &text).expect("ini");
        let error = SysSettings::from_ini(&file).expect_err("negative");
        assert_eq!(
            error.to_string(),
            "default.ini: [simulation] time_scale = \"-2\" is not a number of 0 or more"
        );
    }

    #[test]
    fn unknown_state_store_is_refused() {
        let text = std::fs::read_to_string(shipped_default().path())
            .expect("readable")
            .replacen(
                "db_module_class = sqlite",
                "db_module_class = utils.db.mongo",
                1,
            );
        let file = IniFile::parse(Path::new("default.ini"), &text).expect("ini");
        let error = SysSettings::from_ini(&file).expect_err("unknown store");
        assert!(error
            .to_string()
            .contains("[state-store-orders] db_module_class"));
    }
}
