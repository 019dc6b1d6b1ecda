//! Configuration: the Kafka client file (`config_kafka/*.ini`) and the system file
//! (`config_sys/*.ini`), with the same sections and keys as the original demo.

mod ini_file;
pub(crate) mod kafka;
mod locate;
mod sys;

use std::path::PathBuf;

pub use ini_file::IniFile;
pub use kafka::{set_default, KafkaSettings, KsqlDbSettings};
pub use locate::{config_paths, resolve_config_file, ConfigPaths, USAGE_ARGS};
pub use sys::{
    DeliveryStoreSettings, GroupIds, Menu, OrdersStoreSettings, StatusSource, SysSettings,
    TopicConfig, Topics, WebappSettings,
};

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
    #[error("{}: not a valid ini file: {reason}", file.display())]
    Syntax { file: PathBuf, reason: String },
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
