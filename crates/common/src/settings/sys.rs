//! `config_sys/<name>.ini`: the original demo's sections and keys, read under the original's
//! names, plus this port's additions (`[simulation]`, `[webapp]`, `[status-events]`,
//! `[metrics]`, the dead-letter topic), which are all optional.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::topics::Topics;
use super::webapp::WebappSettings;
use super::{IniFile, SettingsError};
use crate::domain::status::{StatusCatalog, StatusIds, StatusRules};
use crate::domain::wiring::ServiceName;

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
    pub metrics: MetricsSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicConfig {
    pub num_partitions: i32,
    pub replication_factor: i32,
}

/// `[kafka-consumer-group-id]`: one group per consuming service. The same on every host, so the
/// instances of a service share its work instead of each doing all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupIds {
    pub status: String,
    pub delivery: String,
    pub bake: String,
    pub assemble: String,
}

impl GroupIds {
    /// `None` for the web app, which consumes nothing.
    pub fn of(&self, service: ServiceName) -> Option<&str> {
        match service {
            ServiceName::Status => Some(&self.status),
            ServiceName::Delivery => Some(&self.delivery),
            ServiceName::Bake => Some(&self.bake),
            ServiceName::Assemble => Some(&self.assemble),
            ServiceName::Webapp => None,
        }
    }
}

/// `[kafka-client-id]`: how each service introduces itself to the cluster (the host name is
/// appended at start-up, so the broker can tell instances apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIds {
    pub status: String,
    pub delivery: String,
    pub bake: String,
    pub assemble: String,
    pub webapp: String,
    /// `run_me_first`'s admin client: `admin`, optional.
    pub admin: String,
}

impl ClientIds {
    pub fn of(&self, service: ServiceName) -> &str {
        match service {
            ServiceName::Status => &self.status,
            ServiceName::Delivery => &self.delivery,
            ServiceName::Bake => &self.bake,
            ServiceName::Assemble => &self.assemble,
            ServiceName::Webapp => &self.webapp,
        }
    }
}

/// Who writes each stage's event to `pizza-status` (`[status-events] produced_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSource {
    /// Each service writes its own stage's status; nothing but a broker is needed.
    Services,
    /// ksqlDB's persistent queries (`ksql/`) derive them; the services stay quiet.
    KsqlDb,
    /// Not said: the services ask the `[ksqldb]` endpoint, if there is one, which stages its
    /// queries already derive, and write the others.
    Detect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub sauce: Vec<String>,
    pub cheese: Vec<String>,
    pub main_topping: Vec<String>,
    pub extra_toppings: Vec<String>,
}

/// Which implementation keeps a store's rows (`db_module_class` and `name`).
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Sqlite(PathBuf),
    /// A `postgres://user:password@host:port/database` URL.
    Postgres(String),
}

/// What a person reads: the SQLite file, or the PostgreSQL URL without its password.
impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "SQLite {}", path.display()),
            Self::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
                let rest = match rest.split_once('@') {
                    Some((user, host)) => {
                        let user = user.split_once(':').map_or(user, |(user, _)| user);
                        format!("{user}@{host}")
                    }
                    None => rest.to_owned(),
                };
                write!(f, "PostgreSQL {scheme}://{rest}")
            }
        }
    }
}

/// Never prints a database password.
impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrdersStoreSettings {
    pub location: StoreLocation,
    pub table_orders: String,
    /// The orders being watched by the watchdog (the original's `table_status`).
    pub table_status: String,
    pub table_orders_retention_hours: f64,
    pub table_status_retention_hours: f64,
    pub status_watchdog_minutes: f64,
    pub status_invalid_timeout_minutes: f64,
    pub rules: StatusRules,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryStoreSettings {
    pub location: StoreLocation,
    pub table_customers: String,
    pub table_customers_retention_hours: f64,
}

/// `[metrics]`: where each program serves `GET /metrics`, apart from the customers' port;
/// `None` (`off`) serves nothing and leaves the client's statistics off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    pub webapp: Option<SocketAddr>,
    pub assemble: Option<SocketAddr>,
    pub bake: Option<SocketAddr>,
    pub delivery: Option<SocketAddr>,
    pub status: Option<SocketAddr>,
}

impl MetricsSettings {
    pub fn of(&self, service: ServiceName) -> Option<SocketAddr> {
        match service {
            ServiceName::Webapp => self.webapp,
            ServiceName::Assemble => self.assemble,
            ServiceName::Bake => self.bake,
            ServiceName::Delivery => self.delivery,
            ServiceName::Status => self.status,
        }
    }
}

/// Defaults of the sections this port adds, so the original's file works unchanged.
pub mod defaults {
    pub const TIME_SCALE: f64 = 1.0;
    pub const ADMIN_CLIENT_ID: &str = "pizza_client_admin";

    /// Each program's metrics port on loopback: 9401 to 9405, in the order an order meets them,
    /// so the five programs of one host never collide with each other (a second instance on
    /// the same host is moved to a port the system chooses, and says so).
    pub fn metrics_address(service: crate::domain::wiring::ServiceName) -> std::net::SocketAddr {
        use crate::domain::wiring::ServiceName;
        let port = match service {
            ServiceName::Webapp => 9401,
            ServiceName::Assemble => 9402,
            ServiceName::Bake => 9403,
            ServiceName::Delivery => 9404,
            ServiceName::Status => 9405,
        };
        std::net::SocketAddr::from(([127, 0, 0, 1], port))
    }
}

impl SysSettings {
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        Self::from_ini(&IniFile::load(path)?)
    }

    pub fn from_ini(file: &IniFile) -> Result<Self, SettingsError> {
        let status = StatusCatalog::try_from_fn(
            |name| file.checked::<i64>("status-id", name, "a whole number", |_| true),
            |name| file.string("status-label", name),
        )?;
        Ok(Self {
            topics: Topics::from_ini(file)?,
            topic_config: TopicConfig {
                num_partitions: positive(file, "kafka-topic-config", "num_partitions")?,
                replication_factor: positive(file, "kafka-topic-config", "replication_factor")?,
            },
            group_ids: group_ids(file)?,
            client_ids: client_ids(file)?,
            status_source: status_source(file)?,
            menu: Menu {
                sauce: file.list("pizza", "sauce")?,
                cheese: file.list("pizza", "cheese")?,
                main_topping: file.list("pizza", "main_topping")?,
                extra_toppings: file.list("pizza", "extra_toppings")?,
            },
            orders_store: orders_store(file, &status.ids)?,
            delivery_store: delivery_store(file)?,
            time_scale: file.checked_or(
                "simulation",
                "time_scale",
                defaults::TIME_SCALE,
                "a number of 0 or more",
                |v: &f64| v.is_finite() && *v >= 0.0,
            )?,
            webapp: WebappSettings::from_ini(file)?,
            metrics: metrics(file)?,
            status,
        })
    }
}

fn metrics(file: &IniFile) -> Result<MetricsSettings, SettingsError> {
    let address = |service: ServiceName| -> Result<Option<SocketAddr>, SettingsError> {
        let key = service.as_str();
        match file.optional("metrics", key)?.as_deref() {
            None => Ok(Some(defaults::metrics_address(service))),
            Some("off") => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                file.invalid(
                    "metrics",
                    key,
                    text,
                    "an address such as 127.0.0.1:9402 (port 0: the system chooses), or off",
                )
            }),
        }
    };
    Ok(MetricsSettings {
        webapp: address(ServiceName::Webapp)?,
        assemble: address(ServiceName::Assemble)?,
        bake: address(ServiceName::Bake)?,
        delivery: address(ServiceName::Delivery)?,
        status: address(ServiceName::Status)?,
    })
}

fn group_ids(file: &IniFile) -> Result<GroupIds, SettingsError> {
    let id = |service: ServiceName| file.string("kafka-consumer-group-id", service.config_key());
    Ok(GroupIds {
        status: id(ServiceName::Status)?,
        delivery: id(ServiceName::Delivery)?,
        bake: id(ServiceName::Bake)?,
        assemble: id(ServiceName::Assemble)?,
    })
}

fn client_ids(file: &IniFile) -> Result<ClientIds, SettingsError> {
    const SECTION: &str = "kafka-client-id";
    let id = |service: ServiceName| file.string(SECTION, service.config_key());
    Ok(ClientIds {
        status: id(ServiceName::Status)?,
        delivery: id(ServiceName::Delivery)?,
        bake: id(ServiceName::Bake)?,
        assemble: id(ServiceName::Assemble)?,
        webapp: id(ServiceName::Webapp)?,
        admin: file
            .optional(SECTION, "admin")?
            .unwrap_or_else(|| defaults::ADMIN_CLIENT_ID.to_owned()),
    })
}

fn status_source(file: &IniFile) -> Result<StatusSource, SettingsError> {
    match file.optional("status-events", "produced_by")?.as_deref() {
        None => Ok(StatusSource::Detect),
        Some("services") => Ok(StatusSource::Services),
        Some("ksqldb") => Ok(StatusSource::KsqlDb),
        Some(other) => {
            Err(file.invalid("status-events", "produced_by", other, "services or ksqldb"))
        }
    }
}

fn orders_store(file: &IniFile, ids: &StatusIds) -> Result<OrdersStoreSettings, SettingsError> {
    const SECTION: &str = "state-store-orders";
    let completed = file
        .list(SECTION, "status_completed_when")?
        .into_iter()
        .map(|name| {
            ids.by_name(&name).ok_or_else(|| {
                file.invalid(
                    SECTION,
                    "status_completed_when",
                    &name,
                    "a list of names from [status-id]",
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(OrdersStoreSettings {
        location: location(file, SECTION)?,
        table_orders: file.string(SECTION, "table_orders")?,
        table_status: file.string(SECTION, "table_status")?,
        table_orders_retention_hours: non_negative(file, SECTION, "table_orders_retention_hours")?,
        table_status_retention_hours: non_negative(file, SECTION, "table_status_retention_hours")?,
        status_watchdog_minutes: positive_f64(file, SECTION, "status_watchdog_minutes")?,
        status_invalid_timeout_minutes: positive_f64(
            file,
            SECTION,
            "status_invalid_timeout_minutes",
        )?,
        rules: StatusRules {
            completed,
            unwatched: vec![ids.something_wrong],
        },
    })
}

fn delivery_store(file: &IniFile) -> Result<DeliveryStoreSettings, SettingsError> {
    const SECTION: &str = "state-store-delivery";
    Ok(DeliveryStoreSettings {
        location: location(file, SECTION)?,
        table_customers: file.string(SECTION, "table_customers")?,
        table_customers_retention_hours: non_negative(
            file,
            SECTION,
            "table_customers_retention_hours",
        )?,
    })
}

/// The original picked a Python module by name (`utils.db.sqlite`); the same names, and short
/// ones, choose an implementation here, so a typo stops the program instead of silently using
/// another store.
fn location(file: &IniFile, section: &str) -> Result<StoreLocation, SettingsError> {
    let class = file.string(section, "db_module_class")?;
    let name = file.string(section, "name")?;
    match class.as_str() {
        "sqlite" | "utils.db.sqlite" => Ok(StoreLocation::Sqlite(name.into())),
        // Only the scheme is checked here; the store parses the rest of the URL when it opens.
        "postgres" if name.starts_with("postgres://") || name.starts_with("postgresql://") => {
            Ok(StoreLocation::Postgres(name))
        }
        "postgres" => Err(file.invalid(
            section,
            "name",
            "(not shown: it may hold a password)",
            "a postgres://user:password@host:port/database URL",
        )),
        _ => Err(file.invalid(
            section,
            "db_module_class",
            &class,
            "a known state store (utils.db.sqlite, sqlite or postgres)",
        )),
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
    use crate::settings::ConfigFile;

    fn load(relative: &str) -> (IniFile, String) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(relative);
        let text = std::fs::read_to_string(&path).expect("readable");
        (IniFile::load(&path).expect("parses"), text)
    }

    #[test]
    fn a_store_shows_where_it_is_without_its_password() {
        let sqlite = StoreLocation::Sqlite("orders.db".into());
        assert_eq!(sqlite.to_string(), "SQLite orders.db");
        let postgres = StoreLocation::Postgres("postgres://shop:s3cret@db:5432/pizza".into());
        assert_eq!(
            postgres.to_string(),
            "PostgreSQL postgres://shop@db:5432/pizza"
        );
    }

    fn shipped() -> (IniFile, String) {
        load("config_sys/default.ini")
    }

    fn with(text: &str, from: &str, to: &str) -> Result<SysSettings, SettingsError> {
        assert!(text.contains(from), "{from:?} is not in the file");
        let edited = text.replacen(from, to, 1);
        SysSettings::from_ini(&IniFile::parse(Path::new("default.ini"), &edited).expect("ini"))
    }

    #[test]
    fn shipped_default_ini_is_the_originals() {
        let settings = SysSettings::from_ini(&shipped().0).expect("valid settings");
        assert_eq!(settings.topics.ordered, "pizza-ordered");
        assert_eq!(settings.topics.dead_letter, "pizza-dead-letter");
        assert_eq!(
            settings.topic_config,
            TopicConfig {
                num_partitions: 1,
                replication_factor: 3
            }
        );
        assert_eq!(settings.group_ids.assemble, "pizza_assemble");
        assert_eq!(settings.client_ids.webapp, "pizza_client_webapp");
        assert_eq!(settings.status.label(999), "Your pizza was delivered");
        assert_eq!(settings.status.label(200), "Your pizza is in the oven");
        assert_eq!(settings.orders_store.rules.completed, vec![999, 499]);
        assert_eq!(settings.orders_store.rules.unwatched, vec![430]);
        assert_eq!(settings.menu.sauce[0], "Tomato");
        assert_eq!(settings.time_scale, 1.0);
        assert_eq!(settings.webapp.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(settings.status_source, StatusSource::Detect);
        let ports: Vec<u16> = ServiceName::ALL
            .iter()
            .filter_map(|s| settings.metrics.of(*s))
            .map(|a| a.port())
            .collect();
        assert_eq!(
            ports,
            [9405, 9404, 9403, 9402, 9401],
            "one port each, none shared"
        );
    }

    #[test]
    fn metrics_addresses_are_read_and_can_be_turned_off() {
        let (_, text) = shipped();
        let settings = with(
            &text,
            "[state-store-orders]",
            "[metrics]\nbake = 0.0.0.0:0\nstatus = off\n[state-store-orders]",
        )
        .expect("valid");
        assert_eq!(
            settings.metrics.of(ServiceName::Bake),
            Some("0.0.0.0:0".parse().expect("address"))
        );
        assert_eq!(settings.metrics.of(ServiceName::Status), None);
        assert_eq!(
            settings.metrics.of(ServiceName::Assemble),
            Some(defaults::metrics_address(ServiceName::Assemble))
        );
        let error = with(
            &text,
            "[state-store-orders]",
            "[metrics]\nbake = oven\n[state-store-orders]",
        )
        .expect_err("not an address");
        assert_eq!(
            error.to_string(),
            "default.ini: [metrics] bake = \"oven\" is not an address such as 127.0.0.1:9402 \
             (port 0: the system chooses), or off"
        );
    }

    fn shipped_with(vars: &[(&str, &str)]) -> Result<SysSettings, SettingsError> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config_sys/postgres.ini");
        let vars = vars.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned()));
        SysSettings::from_ini(&IniFile::load_with_env(&path, ConfigFile::Sys, vars)?)
    }

    #[test]
    fn variables_override_keys_and_give_missing_ones() {
        let url = "postgres://pizza:s3cret@db:5432/pizza";
        let settings = shipped_with(&[
            ("PIZZA_SYS__STATE_STORE_ORDERS__NAME", url),
            ("PIZZA_SYS__KAFKA_TOPIC_CONFIG__NUM_PARTITIONS", "6"),
            ("PIZZA_SYS__METRICS__BAKE", "off"),
        ])
        .expect("valid");
        assert_eq!(
            settings.orders_store.location,
            StoreLocation::Postgres(url.to_owned())
        );
        assert_ne!(
            settings.delivery_store.location,
            StoreLocation::Postgres(url.to_owned()),
            "only the key the variable names"
        );
        assert_eq!(settings.topic_config.num_partitions, 6);
        assert_eq!(settings.metrics.of(ServiceName::Bake), None);
    }

    #[test]
    fn a_bad_value_from_a_variable_names_the_variable() {
        let error = shipped_with(&[("PIZZA_SYS__METRICS__WEBAPP", "oven")]).expect_err("bad");
        assert_eq!(
            error.to_string(),
            "environment variable PIZZA_SYS__METRICS__WEBAPP: [metrics] webapp = \"oven\" is not \
             an address such as 127.0.0.1:9402 (port 0: the system chooses), or off"
        );
        let error = shipped_with(&[("PIZZA_SYS__STATE_STORE_DELIVERY__NAME", "s3cret")])
            .expect_err("not a URL");
        assert!(
            error
                .to_string()
                .starts_with("environment variable PIZZA_SYS__STATE_STORE_DELIVERY__NAME: "),
            "{error}"
        );
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn settings_name_the_variables_that_set_keys() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let paths = crate::settings::ConfigPaths {
            kafka: root.join("config_kafka/localhost.ini"),
            sys: root.join("config_sys/default.ini"),
        };
        let vars = [
            ("PIZZA_KAFKA__KAFKA__SASL_PASSWORD", "secret"),
            ("PIZZA_SYS__SIMULATION__TIME_SCALE", "0"),
            ("HOME", "/root"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .to_vec();
        let (settings, names) =
            crate::settings::Settings::load_with_env(&paths, vars).expect("valid");
        assert_eq!(settings.sys.time_scale, 0.0);
        assert_eq!(
            names,
            [
                "PIZZA_KAFKA__KAFKA__SASL_PASSWORD",
                "PIZZA_SYS__SIMULATION__TIME_SCALE"
            ]
        );
    }

    /// postgres.ini is default.ini with both stores on PostgreSQL, and nothing else different.
    #[test]
    fn shipped_postgres_ini_differs_from_default_ini_only_in_its_stores() {
        let (_, default) = shipped();
        let (file, postgres) = load("config_sys/postgres.ini");
        let settings = SysSettings::from_ini(&file).expect("valid settings");
        let url = "postgres://pizza:pizza@127.0.0.1:5433/pizza".to_owned();
        assert_eq!(
            settings.orders_store.location,
            StoreLocation::Postgres(url.clone())
        );
        assert_eq!(
            settings.delivery_store.location,
            StoreLocation::Postgres(url)
        );
        let body = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| {
                    !l.starts_with('#')
                        && !l.starts_with("db_module_class")
                        && !l.starts_with("name =")
                })
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(body(&default), body(&postgres));
    }

    /// The original demo's own file, byte for byte, loads with the defaults of what it lacks.
    #[test]
    fn the_originals_file_loads_unchanged() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/original-config/config_sys/default.ini");
        let settings = SysSettings::load(&path).expect("the original's default.ini");
        assert_eq!(
            settings.orders_store.location,
            StoreLocation::Sqlite("orders.db".into())
        );
        assert_eq!(settings.orders_store.table_status_retention_hours, 4.0);
        assert_eq!(settings.topics.dead_letter, "pizza-dead-letter");
        assert_eq!(settings.time_scale, defaults::TIME_SCALE);
        assert_eq!(
            settings.webapp.bind.to_string(),
            crate::settings::webapp_defaults::BIND
        );
        assert_eq!(
            settings.status.label(50),
            "Your order is delayed, bear with us!"
        );
        assert_eq!(settings.status.label(1), "Oops! Unknown status (1)");
    }

    #[test]
    fn every_missing_original_key_is_named() {
        let (_, text) = shipped();
        let mut section = String::new();
        for (line_no, line) in text.lines().enumerate() {
            if line.starts_with('[') {
                section = line.trim().to_owned();
            }
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
            // The original lists a group and a client for a `microservice_ordered` that none of
            // its programs (nor ours) runs.
            if key.trim() == "microservice_ordered" {
                assert!(SysSettings::from_ini(&file).is_ok());
                continue;
            }
            let error = SysSettings::from_ini(&file).expect_err("a key is missing");
            assert_eq!(
                error.to_string(),
                format!("default.ini: {section} {} is missing", key.trim()),
            );
        }
    }

    #[test]
    fn added_sections_are_read_when_given() {
        let (_, text) = shipped();
        let settings = with(
            &text,
            "[state-store-orders]",
            "[simulation]\ntime_scale = 0\n[webapp]\nbind = 127.0.0.1:0\n\
             [status-events]\nproduced_by = ksqldb\n[state-store-orders]",
        )
        .expect("valid");
        assert_eq!(settings.time_scale, 0.0);
        assert_eq!(settings.webapp.bind.port(), 0);
        assert_eq!(settings.status_source, StatusSource::KsqlDb);
    }

    #[test]
    fn bad_values_name_the_key_and_what_was_expected() {
        let (_, text) = shipped();
        let error = with(
            &text,
            "[state-store-orders]",
            "[simulation]\ntime_scale = -2\n[state-store-orders]",
        )
        .expect_err("negative");
        assert_eq!(
            error.to_string(),
            "default.ini: [simulation] time_scale = \"-2\" is not a number of 0 or more"
        );
        let error = with(
            &text,
            "db_module_class = utils.db.sqlite",
            "db_module_class = utils.db.mongo",
        )
        .expect_err("unknown store");
        assert!(error
            .to_string()
            .starts_with("default.ini: [state-store-orders] db_module_class = \"utils.db.mongo\""));
        let error = with(&text, "    cancelled\n", "    eaten\n").expect_err("unknown status");
        assert!(error
            .to_string()
            .contains("status_completed_when = \"eaten\""));
    }
}
