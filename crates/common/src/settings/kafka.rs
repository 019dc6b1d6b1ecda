//! `config_kafka/<name>.ini`: librdkafka properties passed through as they are, and an optional
//! ksqlDB endpoint. (`[local-broker]` is read by `start_demo.sh` only.)

use std::path::Path;

use rdkafka::ClientConfig;

use super::client_role::ClientRole;
use super::{IniFile, SettingsError};

/// Debug shows the keys of `[kafka]` but no value: `sasl.password` is among them.
#[derive(Clone)]
pub struct KafkaSettings {
    /// The `[kafka]` section, e.g. `bootstrap.servers`, `security.protocol`, `sasl.*`.
    pub properties: Vec<(String, String)>,
    pub ksqldb: Option<KsqlDbSettings>,
}

#[derive(Clone)]
pub struct KsqlDbSettings {
    pub endpoint: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.properties.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("KafkaSettings")
            .field("properties", &keys)
            .field("ksqldb", &self.ksqldb)
            .finish()
    }
}

impl std::fmt::Debug for KsqlDbSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KsqlDbSettings")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "(hidden)"))
            .finish()
    }
}

impl KafkaSettings {
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        Self::from_ini(&IniFile::load(path)?)
    }

    pub fn from_ini(file: &IniFile) -> Result<Self, SettingsError> {
        let properties = file.section("kafka")?;
        if !properties.iter().any(|(key, _)| key == "bootstrap.servers") {
            return Err(SettingsError::MissingKey {
                file: file.path().to_path_buf(),
                section: "kafka".into(),
                key: "bootstrap.servers".into(),
            });
        }
        filled_in(file, "kafka", &properties)?;
        let ksqldb = if file.has_section("ksqldb") {
            filled_in(file, "ksqldb", &file.section("ksqldb")?)?;
            Some(KsqlDbSettings {
                endpoint: file.string("ksqldb", "endpoint")?,
                username: file.optional("ksqldb", "username")?,
                password: file.optional("ksqldb", "password")?,
            })
        } else {
            None
        };
        Ok(Self { properties, ksqldb })
    }

    /// A client configuration with every `[kafka]` property a client in `role` reads; callers
    /// add their own on top only where the file does not already say otherwise (see
    /// [`set_default`]).
    pub fn client_config(&self, role: ClientRole) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.properties {
            if role.reads(key) {
                config.set(key, value);
            }
        }
        config
    }
}

/// The shipped `example.ini` holds `{{ ... }}` placeholders; one left in is named, instead of a
/// cluster that cannot be reached for reasons the user has to guess.
fn filled_in(
    file: &IniFile,
    section: &str,
    properties: &[(String, String)],
) -> Result<(), SettingsError> {
    match properties.iter().find(|(_, value)| value.contains("{{")) {
        Some((key, value)) => {
            Err(file.invalid(section, key, value, "filled in (a placeholder is left)"))
        }
        None => Ok(()),
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
    use crate::settings::ConfigFile;

    #[test]
    fn debug_shows_no_secret() {
        let file = IniFile::parse(
            Path::new("cloud.ini"),
            "[kafka]\nbootstrap.servers = host:9092\nsasl.password = s3cret-kafka\n\
             [ksqldb]\nendpoint = https://ksql:443\nusername = key\npassword = s3cret-ksql\n",
        )
        .expect("valid");
        let shown = format!("{:?}", KafkaSettings::from_ini(&file).expect("settings"));
        assert!(shown.contains("sasl.password"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn passes_every_kafka_property_through() {
        let file = IniFile::parse(
            Path::new("cloud.ini"),
            "[kafka]\nbootstrap.servers = host:9092\nsecurity.protocol = SASL_SSL\n\
             sasl.mechanisms = PLAIN\n[ksqldb]\nendpoint = https://ksql:443\nusername = key\n",
        )
        .expect("valid");
        let settings = KafkaSettings::from_ini(&file).expect("settings");
        let config = settings.client_config(ClientRole::Consumer);
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.mechanisms"), Some("PLAIN"));
        let ksqldb = settings.ksqldb.expect("ksqldb section");
        assert_eq!(ksqldb.endpoint, "https://ksql:443");
        assert_eq!(ksqldb.username.as_deref(), Some("key"));
        assert_eq!(ksqldb.password, None);
    }

    #[test]
    fn a_producer_is_not_given_consumer_properties() {
        let file = IniFile::parse(
            Path::new("localhost.ini"),
            "[kafka]\nbootstrap.servers = h:9092\nfetch.wait.max.ms = 33\nlinger.ms = 5\n",
        )
        .expect("valid");
        let settings = KafkaSettings::from_ini(&file).expect("settings");
        let producer = settings.client_config(ClientRole::Producer);
        assert_eq!(producer.get("fetch.wait.max.ms"), None);
        assert_eq!(producer.get("linger.ms"), Some("5"));
        let consumer = settings.client_config(ClientRole::Consumer);
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("33"));
        assert_eq!(consumer.get("linger.ms"), None);
        assert_eq!(consumer.get("bootstrap.servers"), Some("h:9092"));
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
            settings
                .client_config(ClientRole::Consumer)
                .get("sasl.password"),
            Some("Ab#cd;Ef\\gh=\"q\"")
        );
    }

    #[test]
    fn a_placeholder_left_in_is_named() {
        let file = IniFile::parse(
            Path::new("example.ini"),
            "[kafka]\nbootstrap.servers = {{ host:port }}\nsasl.username = key\n",
        )
        .expect("valid");
        let error = KafkaSettings::from_ini(&file).expect_err("not filled in");
        assert_eq!(
            error.to_string(),
            "example.ini: [kafka] bootstrap.servers = \"{{ host:port }}\" is not filled in (a placeholder is left)"
        );
    }

    fn with_env(path: &Path, vars: &[(&str, &str)]) -> Result<KafkaSettings, SettingsError> {
        let vars = vars.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned()));
        KafkaSettings::from_ini(&IniFile::load_with_env(path, ConfigFile::Kafka, vars)?)
    }

    fn example_ini() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config_kafka/example.ini")
    }

    /// The shipped example, its placeholders left as they are, made usable by variables alone.
    #[test]
    fn variables_fill_in_the_example_files_placeholders() {
        let settings = with_env(
            &example_ini(),
            &[
                ("PIZZA_KAFKA__KAFKA__BOOTSTRAP_SERVERS", "pkc-1.cloud:9092"),
                ("PIZZA_KAFKA__KAFKA__SASL_USERNAME", "KEY"),
                ("PIZZA_KAFKA__KAFKA__SASL_PASSWORD", "Ab#cd;Ef\\gh"),
                ("PIZZA_KAFKA__KAFKA__CLIENT_RACK", "use1-az1"),
                ("PIZZA_KAFKA__KSQLDB__ENDPOINT", "https://ksql:443"),
            ],
        )
        .expect("settings");
        let config = settings.client_config(ClientRole::Consumer);
        assert_eq!(config.get("bootstrap.servers"), Some("pkc-1.cloud:9092"));
        assert_eq!(config.get("sasl.password"), Some("Ab#cd;Ef\\gh"));
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(
            config.get("client.rack"),
            Some("use1-az1"),
            "a key only a variable gives reaches librdkafka under its dotted name"
        );
        let ksqldb = settings.ksqldb.expect("a section only variables give");
        assert_eq!(ksqldb.endpoint, "https://ksql:443");
        assert_eq!(ksqldb.password, None);
    }

    #[test]
    fn a_placeholder_in_a_variable_names_the_variable() {
        let error = with_env(
            &example_ini(),
            &[
                ("PIZZA_KAFKA__KAFKA__BOOTSTRAP_SERVERS", "h:9092"),
                ("PIZZA_KAFKA__KAFKA__SASL_USERNAME", "KEY"),
                ("PIZZA_KAFKA__KAFKA__SASL_PASSWORD", "{{ secret }}"),
            ],
        )
        .expect_err("placeholder");
        assert_eq!(
            error.to_string(),
            "environment variable PIZZA_KAFKA__KAFKA__SASL_PASSWORD: [kafka] sasl.password = \
             \"{{ secret }}\" is not filled in (a placeholder is left)"
        );
        let error = with_env(
            &example_ini(),
            &[("PIZZA_KAFKA__KAFKA_SASL_PASSWORD", "secret")],
        )
        .expect_err("malformed");
        assert_eq!(
            error.to_string(),
            "environment variable PIZZA_KAFKA__KAFKA_SASL_PASSWORD: \
             not of the form PIZZA_KAFKA__<SECTION>__<KEY>"
        );
    }

    #[test]
    fn the_originals_kafka_files_load() {
        let folder =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/original-config/config_kafka");
        let local = KafkaSettings::load(&folder.join("localhost.ini")).expect("localhost.ini");
        assert_eq!(
            local
                .client_config(ClientRole::Admin)
                .get("bootstrap.servers"),
            Some("localhost:9092")
        );
        assert_eq!(
            local.ksqldb.map(|k| k.endpoint).as_deref(),
            Some("http://localhost:8088")
        );
        let example = KafkaSettings::load(&folder.join("example.ini")).expect_err("placeholders");
        assert!(
            example.to_string().contains("bootstrap.servers"),
            "{example}"
        );
    }
}
