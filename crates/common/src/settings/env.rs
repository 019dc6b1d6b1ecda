//! Environment variables laid over the ini files, so a secret (the cluster's API secret, a
//! database password) need not sit in a file on every host.
//!
//! `PIZZA_KAFKA__<SECTION>__<KEY>` sets a key of the Kafka client file, `PIZZA_SYS__<SECTION>__<KEY>`
//! one of the system file: section and key upper-cased, each `.` and `-` written `_`
//! (`PIZZA_KAFKA__KAFKA__SASL_PASSWORD` is `[kafka] sasl.password`). A key is found by that
//! normalised form, so a variable overrides the key of the file it matches, and a key the file
//! lacks is still read by its name. A whole section listed for librdkafka gets a variable-only
//! key with its name lower-cased and `_` turned into `.`, the form librdkafka's properties have.
//!
//! `config::Environment` (config-rs) collects the variables of a prefix and splits them at `__`.
//! The layering itself is not config-rs's: its keys are lower-cased paths in which `.` separates
//! levels, so `bootstrap.servers` would not stay one key, and the files must keep being read
//! exactly as before (configparser's multi-line values, file order of `[kafka]`). The names are
//! also checked here first, because config-rs skips a variable that misses the `__` after the
//! prefix, and such a mistake should stop the program rather than leave a secret unset.

use std::collections::HashMap;

use config::{Environment, Source};

use super::SettingsError;

/// The file a variable belongs to, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFile {
    /// `config_kafka/*.ini`: `PIZZA_KAFKA__…`
    Kafka,
    /// `config_sys/*.ini`: `PIZZA_SYS__…`
    Sys,
}

impl ConfigFile {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Kafka => "PIZZA_KAFKA",
            Self::Sys => "PIZZA_SYS",
        }
    }

    fn form(self) -> String {
        format!("{}{SEPARATOR}<SECTION>{SEPARATOR}<KEY>", self.prefix())
    }
}

const SEPARATOR: &str = "__";

/// The process's variables that are Unicode; one of ours that is not is refused, while anyone
/// else's is none of our business (`std::env::vars` would panic on it).
pub fn process_vars() -> Result<Vec<(String, String)>, SettingsError> {
    let mut vars = Vec::new();
    for (name, value) in std::env::vars_os() {
        match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => vars.push((name, value)),
            (Ok(name), Err(_)) if ours(&name).is_some() => {
                return Err(SettingsError::VariableNotUnicode { variable: name })
            }
            (Err(name), _) if ours(&name.to_string_lossy()).is_some() => {
                return Err(SettingsError::VariableNotUnicode {
                    variable: name.to_string_lossy().into_owned(),
                })
            }
            _ => {}
        }
    }
    Ok(vars)
}

/// Which file a variable name is meant for, judged as config-rs does (without regard to case)
/// and loosely (one `_` after the prefix is enough), so near misses are caught too.
fn ours(name: &str) -> Option<ConfigFile> {
    [ConfigFile::Kafka, ConfigFile::Sys]
        .into_iter()
        .find(|file| starts_with_ignoring_case(name, &format!("{}_", file.prefix())))
}

fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    strip_prefix_ignoring_case(text, prefix).is_some()
}

fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// The form a section or key is matched by: upper-cased, `.` and `-` as `_`.
pub(super) fn normalise(name: &str) -> String {
    name.to_uppercase().replace(['.', '-'], "_")
}

/// One variable that sets a key.
#[derive(Debug, Clone)]
pub(super) struct Variable {
    /// As given.
    pub name: String,
    /// Normalised.
    pub section: String,
    /// Normalised.
    pub key: String,
    pub value: String,
}

impl Variable {
    /// The name a key of a whole section listed for librdkafka is given when no key of the file
    /// matches.
    pub(crate) fn property_name(&self) -> String {
        self.key.to_lowercase().replace('_', ".")
    }
}

/// The variables of one file, sorted by name so a section lists them in a stable order.
#[derive(Debug, Clone, Default)]
pub(super) struct EnvLayer {
    variables: Vec<Variable>,
}

impl EnvLayer {
    pub(crate) fn collect(
        file: ConfigFile,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut mine = HashMap::new();
        // By normalised name, the name as given: config-rs lower-cases what it collects, and an
        // error or the start-up log should name the variable as the operator wrote it.
        let mut given: HashMap<String, String> = HashMap::new();
        for (name, value) in vars {
            if ours(&name) != Some(file) {
                continue;
            }
            check_form(file, &name)?;
            if let Some(first) = given.insert(normalise(&name), name.clone()) {
                // Both would set one key, and which one config-rs keeps depends on a hash map.
                return Err(SettingsError::VariablesClash {
                    first,
                    second: name,
                });
            }
            mine.insert(name, value);
        }
        let collected = Environment::with_prefix(file.prefix())
            .separator(SEPARATOR)
            .source(Some(mine))
            .collect()
            .map_err(|source| SettingsError::Environment { source })?;
        let mut variables = Vec::with_capacity(collected.len());
        for (path, value) in collected {
            // `check_form` let through only `SECTION__KEY`, which config-rs gives as `section.key`.
            let Some((section, key)) = path.split_once('.') else {
                return Err(SettingsError::MalformedVariable {
                    variable: format!("{}{SEPARATOR}{}", file.prefix(), path.to_uppercase()),
                    form: file.form(),
                });
            };
            let (section, key) = (normalise(section), normalise(key));
            let value = value
                .into_string()
                .map_err(|source| SettingsError::Environment { source })?;
            let name = format!("{}{SEPARATOR}{section}{SEPARATOR}{key}", file.prefix());
            variables.push(Variable {
                name: given.get(&name).cloned().unwrap_or(name),
                section,
                key,
                value,
            });
        }
        variables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { variables })
    }

    pub(crate) fn get(&self, section: &str, key: &str) -> Option<&Variable> {
        let (section, key) = (normalise(section), normalise(key));
        self.variables
            .iter()
            .find(|v| v.section == section && v.key == key)
    }

    pub(crate) fn in_section(&self, section: &str) -> impl Iterator<Item = &Variable> {
        let section = normalise(section);
        self.variables.iter().filter(move |v| v.section == section)
    }

    pub(crate) fn has_section(&self, section: &str) -> bool {
        self.in_section(section).next().is_some()
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|v| v.name.as_str())
    }
}

/// `PREFIX__SECTION__KEY` with a section and a key, neither holding a `.` (config-rs's level
/// separator) nor a further `__`.
fn check_form(file: ConfigFile, name: &str) -> Result<(), SettingsError> {
    let malformed = || SettingsError::MalformedVariable {
        variable: name.to_owned(),
        form: file.form(),
    };
    let head = format!("{}{SEPARATOR}", file.prefix());
    let Some(rest) = strip_prefix_ignoring_case(name, &head) else {
        return Err(malformed());
    };
    let parts: Vec<&str> = rest.split(SEPARATOR).collect();
    let well_formed = parts.len() == 2
        && parts.iter().all(|part| {
            !part.is_empty()
                && !part.contains('.')
                && !part.starts_with('_')
                && !part.ends_with('_')
        });
    if well_formed {
        Ok(())
    } else {
        Err(malformed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn takes_only_its_own_prefix() {
        let layer = EnvLayer::collect(
            ConfigFile::Sys,
            vars(&[
                ("PIZZA_SYS__KAFKA_TOPICS__PIZZA_ORDERED", "orders"),
                ("PIZZA_KAFKA__KAFKA__SASL_PASSWORD", "secret"),
                ("PIZZA_SESSION_KEY", "ab"),
                ("PATH", "/bin"),
            ]),
        )
        .expect("well formed");
        assert_eq!(
            layer.names().collect::<Vec<_>>(),
            ["PIZZA_SYS__KAFKA_TOPICS__PIZZA_ORDERED"]
        );
        let found = layer.get("kafka-topics", "pizza_ordered").expect("found");
        assert_eq!(found.value, "orders");
    }

    #[test]
    fn malformed_names_are_refused_by_name() {
        for name in [
            "PIZZA_KAFKA_SASL_PASSWORD",
            "PIZZA_KAFKA__SASL_PASSWORD",
            "PIZZA_KAFKA__KAFKA__SASL__PASSWORD",
            "PIZZA_KAFKA____SASL_PASSWORD",
            "PIZZA_KAFKA__KAFKA__",
            "PIZZA_KAFKA__KAFKA__SASL.PASSWORD",
            "PIZZA_KAFKA__KAFKA___SASL_PASSWORD",
        ] {
            let error = EnvLayer::collect(ConfigFile::Kafka, vars(&[(name, "x")]))
                .expect_err(name)
                .to_string();
            assert_eq!(
                error,
                format!(
                    "environment variable {name}: not of the form \
                     PIZZA_KAFKA__<SECTION>__<KEY>"
                )
            );
        }
    }

    #[test]
    fn two_names_for_one_key_are_refused() {
        for (one, other) in [
            ("PIZZA_SYS__METRICS__BAKE", "pizza_sys__metrics__bake"),
            (
                "PIZZA_SYS__STATE_STORE_ORDERS__NAME",
                "PIZZA_SYS__STATE-STORE-ORDERS__NAME",
            ),
        ] {
            let error = EnvLayer::collect(ConfigFile::Sys, vars(&[(one, "a"), (other, "b")]))
                .expect_err("ambiguous");
            assert!(error.to_string().contains("set the same key"), "{error}");
        }
    }

    #[test]
    fn names_are_kept_as_given() {
        let layer = EnvLayer::collect(
            ConfigFile::Sys,
            vars(&[("pizza_sys__Kafka-Topics__pizza_ordered", "orders")]),
        )
        .expect("well formed");
        let found = layer.get("kafka-topics", "pizza_ordered").expect("found");
        assert_eq!(found.name, "pizza_sys__Kafka-Topics__pizza_ordered");
    }
}
