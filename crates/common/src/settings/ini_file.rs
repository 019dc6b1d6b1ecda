//! One ini file, read the way Python's `configparser` reads the original demo's files (indented
//! continuation lines make multi-line values), with typed getters whose errors name the file,
//! the section and the key, and environment variables laid over it (see [`super::env`]).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ini::{Ini, ParseOption};

use super::env::{normalise, ConfigFile, EnvLayer};
use super::SettingsError;

/// A parsed ini file that remembers where it came from, so every error can say so, with the
/// environment variables that override its keys.
#[derive(Debug, Clone)]
pub struct IniFile {
    path: PathBuf,
    ini: Ini,
    env: EnvLayer,
}

impl IniFile {
    /// The file alone, without environment variables.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        Self::load_with_env(path, ConfigFile::Sys, std::iter::empty())
    }

    /// The file with the variables of `file`'s prefix among `vars` over it; a malformed one
    /// of that prefix is refused, the others are left alone.
    pub fn load_with_env(
        path: &Path,
        file: ConfigFile,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse_with_env(path, &text, file, vars)
    }

    /// Text read from `path`, without environment variables.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SettingsError> {
        Self::parse_with_env(path, text, ConfigFile::Sys, std::iter::empty())
    }

    pub fn parse_with_env(
        path: &Path,
        text: &str,
        file: ConfigFile,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let options = ParseOption {
            // The original's `[pizza]` lists put one item per indented line.
            enabled_indented_mutiline_value: true,
            // Secrets may hold backslashes and quotes; they are passed on as written.
            enabled_escape: false,
            enabled_quote: false,
            ..ParseOption::default()
        };
        let ini =
            Ini::load_from_str_opt(text, options).map_err(|source| SettingsError::Syntax {
                file: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            ini,
            env: EnvLayer::collect(file, vars)?,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The variables that set a key of this file, by name (never with their values).
    pub fn environment_variables(&self) -> impl Iterator<Item = &str> {
        self.env.names()
    }

    /// A section only a variable names is there too.
    pub fn has_section(&self, section: &str) -> bool {
        self.ini.section(Some(section)).is_some() || self.env.has_section(section)
    }

    /// Every key of a section, in file order, each with its variable's value where one is set,
    /// then the keys only variables give (the `[kafka]` section is passed to librdkafka as it
    /// is, so those are named as librdkafka's properties are: `SASL_PASSWORD` is `sasl.password`).
    pub fn section(&self, section: &str) -> Result<Vec<(String, String)>, SettingsError> {
        let in_file: Vec<(&str, &str)> = match self.ini.section(Some(section)) {
            Some(properties) => properties.iter().collect(),
            None if self.env.has_section(section) => Vec::new(),
            None => return Err(self.missing_section(section)),
        };
        let mut pairs: Vec<(String, String)> = in_file
            .iter()
            .map(|(key, value)| {
                let value = self.env.get(section, key).map_or(*value, |v| &v.value);
                ((*key).to_owned(), value.trim().to_owned())
            })
            .collect();
        for variable in self.env.in_section(section) {
            if !in_file
                .iter()
                .any(|(key, _)| normalise(key) == variable.key)
            {
                pairs.push((variable.property_name(), variable.value.trim().to_owned()));
            }
        }
        Ok(pairs)
    }

    /// A value that must be there and not be empty.
    pub fn string(&self, section: &str, key: &str) -> Result<String, SettingsError> {
        let value = self.raw(section, key)?.trim();
        if value.is_empty() {
            return Err(self.invalid(section, key, value, "a non-empty value"));
        }
        Ok(value.to_owned())
    }

    /// A value that may be left out (with its section); `None` then.
    pub fn optional(&self, section: &str, key: &str) -> Result<Option<String>, SettingsError> {
        match self.value(section, key).map(str::trim) {
            None => Ok(None),
            Some("") => Err(self.invalid(section, key, "", "a non-empty value")),
            Some(value) => Ok(Some(value.to_owned())),
        }
    }

    /// A value that parses from text and passes `accept` (e.g. is positive).
    pub fn checked<T: FromStr>(
        &self,
        section: &str,
        key: &str,
        expected: &'static str,
        accept: impl Fn(&T) -> bool,
    ) -> Result<T, SettingsError> {
        let raw = self.raw(section, key)?;
        self.convert(section, key, raw, expected, accept)
    }

    /// Like [`Self::checked`], with `default` when the key (or its section) is left out.
    pub fn checked_or<T: FromStr>(
        &self,
        section: &str,
        key: &str,
        default: T,
        expected: &'static str,
        accept: impl Fn(&T) -> bool,
    ) -> Result<T, SettingsError> {
        match self.value(section, key) {
            None => Ok(default),
            Some(raw) => self.convert(section, key, raw, expected, accept),
        }
    }

    /// A list written one item per line or separated by commas; empty items are dropped.
    pub fn list(&self, section: &str, key: &str) -> Result<Vec<String>, SettingsError> {
        let raw = self.raw(section, key)?;
        let items: Vec<String> = raw
            .split(['\n', '\r', ','])
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect();
        if items.is_empty() {
            return Err(self.invalid(section, key, raw, "a list of at least one item"));
        }
        Ok(items)
    }

    /// The error for a value that is there but wrong, naming the variable it came from if a
    /// variable sets that key.
    pub fn invalid(
        &self,
        section: &str,
        key: &str,
        value: &str,
        expected: &'static str,
    ) -> SettingsError {
        let (section, key, value) = (section.to_owned(), key.to_owned(), value.trim().to_owned());
        match self.env.get(&section, &key) {
            Some(variable) => SettingsError::InvalidVariable {
                variable: variable.name.clone(),
                section,
                key,
                value,
                expected,
            },
            None => SettingsError::Invalid {
                file: self.path.clone(),
                section,
                key,
                value,
                expected,
            },
        }
    }

    fn convert<T: FromStr>(
        &self,
        section: &str,
        key: &str,
        raw: &str,
        expected: &'static str,
        accept: impl Fn(&T) -> bool,
    ) -> Result<T, SettingsError> {
        raw.trim()
            .parse()
            .ok()
            .filter(|value| accept(value))
            .ok_or_else(|| self.invalid(section, key, raw, expected))
    }

    /// A variable's value, else the file's.
    fn value(&self, section: &str, key: &str) -> Option<&str> {
        match self.env.get(section, key) {
            Some(variable) => Some(&variable.value),
            None => self.ini.get_from(Some(section), key),
        }
    }

    fn raw(&self, section: &str, key: &str) -> Result<&str, SettingsError> {
        if let Some(value) = self.value(section, key) {
            return Ok(value);
        }
        if !self.has_section(section) {
            return Err(self.missing_section(section));
        }
        Err(SettingsError::MissingKey {
            file: self.path.clone(),
            section: section.to_owned(),
            key: key.to_owned(),
        })
    }

    fn missing_section(&self, section: &str) -> SettingsError {
        SettingsError::MissingSection {
            file: self.path.clone(),
            section: section.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ini(text: &str) -> IniFile {
        IniFile::parse(Path::new("test.ini"), text).expect("valid ini")
    }

    fn ini_with(text: &str, vars: &[(&str, &str)]) -> Result<IniFile, SettingsError> {
        let vars = vars.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned()));
        IniFile::parse_with_env(Path::new("test.ini"), text, ConfigFile::Sys, vars)
    }

    #[test]
    fn a_variable_overrides_the_key_it_names() {
        let file = ini_with(
            "[state-store-orders]\nname = orders.db\ntable_orders = orders\n",
            &[("PIZZA_SYS__STATE_STORE_ORDERS__NAME", "postgres://u:p@h/d")],
        )
        .expect("valid");
        assert_eq!(
            file.string("state-store-orders", "name").expect("set"),
            "postgres://u:p@h/d"
        );
        assert_eq!(
            file.string("state-store-orders", "table_orders")
                .expect("file"),
            "orders"
        );
        assert_eq!(
            file.environment_variables().collect::<Vec<_>>(),
            ["PIZZA_SYS__STATE_STORE_ORDERS__NAME"]
        );
    }

    #[test]
    fn a_key_only_a_variable_gives_is_read_by_name() {
        let file = ini_with(
            "[simulation]\ntime_scale = 2\n",
            &[
                ("PIZZA_SYS__SIMULATION__SPEED", "3"),
                ("PIZZA_SYS__PIZZA__SAUCE", "Tomato, Pesto"),
            ],
        )
        .expect("valid");
        assert_eq!(
            file.checked::<f64>("simulation", "speed", "a number", |_| true)
                .expect("from the variable"),
            3.0
        );
        assert!(file.has_section("pizza"), "a section only a variable names");
        assert_eq!(
            file.list("pizza", "sauce").expect("list"),
            ["Tomato", "Pesto"]
        );
        let error = file.string("pizza", "cheese").expect_err("missing");
        assert_eq!(error.to_string(), "test.ini: [pizza] cheese is missing");
    }

    #[test]
    fn a_section_lists_variable_only_keys_with_dots() {
        let file = ini_with(
            "[kafka]\nbootstrap.servers = h:9092\nsasl.username = key\n",
            &[
                ("PIZZA_SYS__KAFKA__SASL_USERNAME", "other-key"),
                ("PIZZA_SYS__KAFKA__SASL_PASSWORD", "secret"),
            ],
        )
        .expect("valid");
        assert_eq!(
            file.section("kafka").expect("section"),
            [
                ("bootstrap.servers".to_owned(), "h:9092".to_owned()),
                ("sasl.username".to_owned(), "other-key".to_owned()),
                ("sasl.password".to_owned(), "secret".to_owned()),
            ]
        );
    }

    #[test]
    fn a_bad_value_from_a_variable_names_the_variable() {
        let file = ini_with(
            "[simulation]\ntime_scale = 2\n",
            &[("PIZZA_SYS__SIMULATION__TIME_SCALE", "fast")],
        )
        .expect("valid");
        let error = file
            .checked::<f64>("simulation", "time_scale", "a number", |_| true)
            .expect_err("not a number");
        assert_eq!(
            error.to_string(),
            "environment variable PIZZA_SYS__SIMULATION__TIME_SCALE: \
             [simulation] time_scale = \"fast\" is not a number"
        );
    }

    #[test]
    fn a_malformed_variable_is_refused_and_others_prefixes_are_left_alone() {
        let error = ini_with("[a]\nb = 1\n", &[("PIZZA_SYS_SIMULATION_TIME_SCALE", "0")])
            .expect_err("malformed");
        assert_eq!(
            error.to_string(),
            "environment variable PIZZA_SYS_SIMULATION_TIME_SCALE: \
             not of the form PIZZA_SYS__<SECTION>__<KEY>"
        );
        let file = ini_with(
            "[a]\nb = 1\n",
            &[("PIZZA_KAFKA__A__B", "2"), ("PIZZA_SESSION_KEY", "00")],
        )
        .expect("not this file's variables");
        assert_eq!(file.string("a", "b").expect("file"), "1");
    }

    #[test]
    fn reads_multi_line_lists_like_configparser() {
        let file = ini("[pizza]\nsauce =\n    Tomato\n    Pesto\n    White sauce\n");
        assert_eq!(
            file.list("pizza", "sauce").expect("list"),
            ["Tomato", "Pesto", "White sauce"]
        );
    }

    #[test]
    fn reads_comma_separated_lists() {
        let file = ini("[s]\ndone = delivered, cancelled\n");
        assert_eq!(
            file.list("s", "done").expect("list"),
            ["delivered", "cancelled"]
        );
    }

    #[test]
    fn keeps_dotted_keys_whole() {
        let file = ini("[kafka]\nbootstrap.servers = 127.0.0.1:9092\n");
        assert_eq!(
            file.section("kafka").expect("section"),
            [("bootstrap.servers".to_owned(), "127.0.0.1:9092".to_owned())]
        );
    }

    #[test]
    fn missing_key_names_file_section_and_key() {
        let file = ini("[webapp]\nother = 1\n");
        let error = file.string("webapp", "bind").expect_err("missing");
        assert_eq!(error.to_string(), "test.ini: [webapp] bind is missing");
    }

    #[test]
    fn missing_section_names_it() {
        let error = ini("[a]\nb = 1\n")
            .string("webapp", "bind")
            .expect_err("missing");
        assert_eq!(error.to_string(), "test.ini: section [webapp] is missing");
    }

    #[test]
    fn wrong_type_names_the_value_and_what_was_expected() {
        let file = ini("[simulation]\ntime_scale = fast\n");
        let error = file
            .checked::<f64>("simulation", "time_scale", "a number", |_| true)
            .expect_err("not a number");
        assert_eq!(
            error.to_string(),
            "test.ini: [simulation] time_scale = \"fast\" is not a number"
        );
    }

    #[test]
    fn optional_values_fall_back_only_when_left_out() {
        let file = ini("[simulation]\ntime_scale = 2\n[webapp]\nbind =\n");
        let scale =
            |section: &str| file.checked_or(section, "time_scale", 1.0, "a number", |_: &f64| true);
        assert_eq!(scale("simulation").expect("given"), 2.0);
        assert_eq!(scale("no-such-section").expect("default"), 1.0);
        assert_eq!(file.optional("webapp", "other").expect("absent"), None);
        assert!(
            file.optional("webapp", "bind").is_err(),
            "written but empty is a mistake, not a default"
        );
    }
}
