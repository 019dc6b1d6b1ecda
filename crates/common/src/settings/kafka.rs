//! `config_kafka/<name>.ini`: librdkafka properties passed through as they are, and an optional
//! ksqlDB endpoint.

use std::collections::BTreeMap;
use std::path::Path;

use rdkafka::ClientConfig;

use super::{IniFile, SettingsError};

#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// The `[kafka]` section, e.g. `bootstrap.servers`, `security.protocol`, `sasl.*`.
    pub properties: BTreeMap<String, String>,
    pub ksqldb: Option<KsqlDbSettings>,
}

#[derive(Debug, Clone)]
pub struct KsqlDbSettings {
    pub endpoint: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl KafkaSettings {
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        Self::from_ini(&IniFile::load(path)?)
    }

    pub fn from_ini(file: &IniFile) -> Result<Self, SettingsError> {
        let properties = file.section("kafka")?;
        if !properties.contains_key("bootstrap.servers") {
            return Err(SettingsError::MissingKey {
                file: file.path().to_path_buf(),
                section: "kafka".into(),
                key: "bootstrap.servers".into(),
            });
        }
        let ksqldb = if file.has_section("ksqldb") {
            let optional = |key: &str| file.string("ksqldb", key).ok();
            Some(KsqlDbSettings {
                endpoint: file.string("ksqldb", "endpoint")?,
                username: optional("username"),
                password: optional("password"),
            })
        } else {
            None
        };
        Ok(Self { properties, ksqldb })
    }

    pub fn bootstrap_servers(&self) -> &str {
        self.properties
            .get("bootstrap.servers")
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// A client configuration with every `[kafka]` property; callers add their own on top only
    /// where the file does not already say otherwise (see [`set_default`]).
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// Sets a property unless the user's `[kafka]` section already chose a value: our defaults are
/// tuned for the local broker, but an operator's file always wins.
pub fn set_default(config: &mut ClientConfig, key: &str, value: &str) {
    if config.get(key).is_none() {
        config.set(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_every_kafka_property_through() {
        let file = IniFile::parse(
            Path::new("cloud.ini"),
            "[kafka]\nbootstrap.servers = host:9092\nsecurity.protocol = SASL_SSL\n\
             sasl.mechanisms = PLAIN\n[ksqldb]\nendpoint = https://ksql:443\nusername = key\n",
        )
        .expect("valid");
        let settings = KafkaSettings::from_ini(&file).expect("settings");
        let config = settings.client_config();
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.mechanisms"), Some("PLAIN"));
        let ksqldb = settings.ksqldb.expect("ksqldb section");
        assert_eq!(ksqldb.endpoint, "https://ksql:443");
        assert_eq!(ksqldb.username.as_deref(), Some("key"));
        assert_eq!(ksqldb.password, None);
    }

    #[test]
    fn bootstrap_servers_is_required() {
        let file = IniFile::parse(Path::new("k.ini"), "[kafka]\nacks = all\n").expect("valid");
        let error = KafkaSettings::from_ini(&file).expect_err("missing");
        assert_eq!(
            error.to_string(),
            "k.ini: [kafka] bootstrap.servers is missing"
        );
    }

    #[test]
    fn user_settings_win_over_defaults() {
        let mut config = ClientConfig::new();
        config.set("fetch.wait.max.ms", "100");
        set_default(&mut config, "fetch.wait.max.ms", "10");
        set_default(&mut config, "linger.ms", "1");
        assert_eq!(config.get("fetch.wait.max.ms"), Some("100"));
        assert_eq!(config.get("linger.ms"), Some("1"));
    }

    #[test]
    fn secrets_keep_comment_characters_and_case() {
        let file = IniFile::parse(
            Path::new("cloud.ini"),
            "[kafka]\nbootstrap.servers = h:9092\nsasl.password = Ab#cd;Ef\\gh=\"q\"\n",
        )
        .expect("valid");
        let settings = KafkaSettings::from_ini(&file).expect("settings");
        assert_eq!(
            settings.properties.get("sasl.password").map(String::as_str),
            Some("Ab#cd;Ef\\gh=\"q\"")
        );
    }
}
