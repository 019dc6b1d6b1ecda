//! Configuration: the Kafka client file (`config_kafka/*.ini`) and the system file
//! (`config_sys/*.ini`), with the same sections and keys as the original demo.

mod client_role;
mod ini_file;
pub(crate) mod kafka;
mod locate;
mod sys;
mod topics;

use std::path::PathBuf;

pub use client_role::ClientRole;
pub use ini_file::IniFile;
pub use kafka::{set_default, BrokerWorkarounds, KafkaSettings, KsqlDbSettings};
pub use locate::{
    config_paths, resolve_config_file, ConfigPaths, Invocation, UsageError, USAGE_ARGS,
};
pub use sys::{
    defaults, ClientIds, DeliveryStoreSettings, GroupIds, Menu, MetricsSettings,
    OrdersStoreSettings, StatusSource, StoreLocation, SysSettings, TopicConfig, WebappSettings,
};
pub use topics::{Topic, Topics, DEFAULT_DEAD_LETTER};

/// Both files, read once at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub kafka: KafkaSettings,
    pub sys: SysSettings,
}

impl Settings {
    pub fn load(paths: &ConfigPaths) -> Result<Self, SettingsError> {
        Ok(Self {
            kafka: KafkaSettings::load(&paths.kafka)?,
            sys: SysSettings::load(&paths.sys)?,
        })
    }
}

/// Every way configuration can be wrong; each message is one line naming the file, and the
/// section and key where there is one.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{}: cannot read the file: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a valid ini file: {source}", file.display())]
    Syntax {
        file: PathBuf,
        #[source]
        source: ini::ParseError,
    },
    #[error("{}: section [{section}] is missing", file.display())]
    MissingSection { file: PathBuf, section: String },
    #[error("{}: [{section}] {key} is missing", file.display())]
    MissingKey {
        file: PathBuf,
        section: String,
        key: String,
    },
    #[error("{}: [{section}] {key} = {value:?} is not {expected}", file.display())]
    Invalid {
        file: PathBuf,
        section: String,
        key: String,
        value: String,
        expected: &'static str,
    },
}
