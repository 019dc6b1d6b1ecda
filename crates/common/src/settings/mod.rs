//! Configuration: the Kafka client file (`config_kafka/*.ini`) and the system file
//! (`config_sys/*.ini`), with the same sections and keys as the original demo, and environment
//! variables over any key of either (see [`env`](mod@env)).

mod client_role;
pub mod env;
mod ini_file;
pub(crate) mod kafka;
mod locate;
mod sys;
mod topics;
mod webapp;

use std::path::PathBuf;

pub use client_role::ClientRole;
pub use env::{process_vars, ConfigFile};
pub use ini_file::IniFile;
pub use kafka::{set_default, KafkaSettings, KsqlDbSettings};
pub use locate::{
    config_paths, resolve_config_file, ConfigPaths, Invocation, UsageError, USAGE_ARGS,
};
pub use sys::{
    defaults, ClientIds, DeliveryStoreSettings, GroupIds, Menu, MetricsSettings,
    OrdersStoreSettings, StatusSource, StoreLocation, SysSettings, TopicConfig,
};
pub use topics::{Topics, DEFAULT_DEAD_LETTER};
pub use webapp::{defaults as webapp_defaults, WebappSettings};

/// Both files, read once at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub kafka: KafkaSettings,
    pub sys: SysSettings,
}

impl Settings {
    /// Both files with the process's environment variables over them.
    pub fn load(paths: &ConfigPaths) -> Result<Self, SettingsError> {
        Ok(Self::load_with_env(paths, process_vars()?)?.0)
    }

    /// Both files with `vars` over them, and the names (never the values) of the variables
    /// that set a key, for the start-up log.
    pub fn load_with_env(
        paths: &ConfigPaths,
        vars: Vec<(String, String)>,
    ) -> Result<(Self, Vec<String>), SettingsError> {
        let kafka_file =
            IniFile::load_with_env(&paths.kafka, ConfigFile::Kafka, vars.iter().cloned())?;
        let kafka = KafkaSettings::from_ini(&kafka_file)?;
        let sys_file = IniFile::load_with_env(&paths.sys, ConfigFile::Sys, vars)?;
        let sys = SysSettings::from_ini(&sys_file)?;
        let names = kafka_file
            .environment_variables()
            .chain(sys_file.environment_variables())
            .map(str::to_owned)
            .collect();
        Ok((Self { kafka, sys }, names))
    }
}

/// Every way configuration can be wrong; each message is one line naming the file, or the
/// environment variable, and the section and key where there is one.
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
    #[error("environment variable {variable}: [{section}] {key} = {value:?} is not {expected}")]
    InvalidVariable {
        variable: String,
        section: String,
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("environment variable {variable}: not of the form {form}")]
    MalformedVariable { variable: String, form: String },
    #[error("environment variables {first} and {second} set the same key")]
    VariablesClash { first: String, second: String },
    #[error("environment variable {variable}: not valid UTF-8")]
    VariableNotUnicode { variable: String },
    #[error("environment variables: {source}")]
    Environment {
        #[source]
        source: config::ConfigError,
    },
}
