//! One ini file, read the way Python's `configparser` reads the original demo's files (indented
//! continuation lines make multi-line values), with typed getters whose errors name the file,
//! the section and the key.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use config::{Config, FileStoredFormat, Format, Map, Value, ValueKind};

use super::SettingsError;

/// The `config` crate's own ini format does not read continuation lines, which the original's
/// `[pizza]` lists use; this format is the same parser with that option on.
#[derive(Debug, Clone, Copy)]
struct MultiLineIni;

impl Format for MultiLineIni {
    fn parse(
        &self,
        uri: Option<&String>,
        text: &str,
    ) -> Result<Map<String, Value>, Box<dyn Error + Send + Sync>> {
        let options = ini::ParseOption {
            enabled_indented_mutiline_value: true,
            enabled_escape: false,
            ..ini::ParseOption::default()
        };
        let parsed = ini::Ini::load_from_str_opt(text, options)?;
        let mut root = Map::new();
        for (section, properties) in parsed.iter() {
            let Some(section) = section else { continue };
            let mut table = Map::new();
            for (key, value) in properties.iter() {
                table.insert(
                    key.to_owned(),
                    Value::new(uri, ValueKind::String(value.to_owned())),
                );
            }
            root.insert(section.to_owned(), Value::new(uri, ValueKind::Table(table)));
        }
        Ok(root)
    }
}

impl FileStoredFormat for MultiLineIni {
    fn file_extensions(&self) -> &'static [&'static str] {
        &["ini"]
    }
}

/// A parsed ini file that remembers where it came from, so every error can say so.
#[derive(Debug, Clone)]
pub struct IniFile {
    path: PathBuf,
    sections: Map<String, Map<String, Value>>,
}

impl IniFile {
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, SettingsError> {
        let syntax = |reason: String| SettingsError::Syntax {
            file: path.to_path_buf(),
            reason,
        };
        let config = Config::builder()
            .add_source(config::File::from_str(text, MultiLineIni))
            .build()
            .map_err(|e| syntax(e.to_string()))?;
        let root: Map<String, Value> = config
            .try_deserialize()
            .map_err(|e| syntax(e.to_string()))?;
        let mut sections = Map::new();
        for (name, value) in root {
            let table = value.into_table().map_err(|e| syntax(e.to_string()))?;
            sections.insert(name, table);
        }
        Ok(Self {
            path: path.to_path_buf(),
            sections,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn has_section(&self, section: &str) -> bool {
        self.sections.contains_key(section)
    }

    /// Every key of a section, as text (the `[kafka]` section is passed to librdkafka as it is).
    pub fn section(&self, section: &str) -> Result<BTreeMap<String, String>, SettingsError> {
        let table = self.table(section)?;
        table
            .iter()
            .map(|(key, value)| {
                let text = value
                    .clone()
                    .into_string()
                    .map_err(|_| self.invalid(section, key, "", "text"))?;
                Ok((key.clone(), text))
            })
            .collect()
    }

    pub fn string(&self, section: &str, key: &str) -> Result<String, SettingsError> {
        let raw = self.raw(section, key)?;
        let value = raw.trim();
        if value.is_empty() {
            return Err(self.invalid(section, key, value, "a non-empty value"));
        }
        Ok(value.to_owned())
    }

    /// A value of any type that parses from text, e.g. numbers and socket addresses.
    pub fn parsed<T: FromStr>(
        &self,
        section: &str,
        key: &str,
        expected: &'static str,
    ) -> Result<T, SettingsError> {
        self.checked(section, key, expected, |_| true)
    }

    /// Like [`Self::parsed`], for values that must also pass `accept` (e.g. be positive).
    pub fn checked<T: FromStr>(
        &self,
        section: &str,
        key: &str,
        expected: &'static str,
        accept: impl Fn(&T) -> bool,
    ) -> Result<T, SettingsError> {
        let raw = self.raw(section, key)?;
        raw.trim()
            .parse()
            .ok()
            .filter(|value| accept(value))
            .ok_or_else(|| self.invalid(section, key, &raw, expected))
    }

    pub fn boolean(&self, section: &str, key: &str) -> Result<bool, SettingsError> {
        let raw = self.raw(section, key)?;
        match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "yes" | "true" | "on" => Ok(true),
            "0" | "no" | "false" | "off" => Ok(false),
            _ => Err(self.invalid(section, key, &raw, "yes or no")),
        }
    }

    /// A list written one item per line or separated by commas; empty items are dropped.
    pub fn list(&self, section: &str, key: &str) -> Result<Vec<String>, SettingsError> {
        let raw = self.raw(section, key)?;
        let items: Vec<String> = raw
            .split(['\n', ','])
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect();
        if items.is_empty() {
            return Err(self.invalid(section, key, &raw, "a list of at least one item"));
        }
        Ok(items)
    }

    fn table(&self, section: &str) -> Result<&Map<String, Value>, SettingsError> {
        self.sections
            .get(section)
            .ok_or_else(|| SettingsError::MissingSection {
                file: self.path.clone(),
                section: section.to_owned(),
            })
    }

    fn raw(&self, section: &str, key: &str) -> Result<String, SettingsError> {
        let value = self
            .table(section)?
            .get(key)
            .ok_or_else(|| SettingsError::MissingKey {
                file: self.path.clone(),
                section: section.to_owned(),
                key: key.to_owned(),
            })?;
        value
            .clone()
            .into_string()
            .map_err(|_| self.invalid(section, key, "", "text"))
    }

    fn invalid(
        &self,
        section: &str,
        key: &str,
        value: &str,
        expected: &'static str,
    ) -> SettingsError {
        SettingsError::Invalid {
            file: self.path.clone(),
            section: section.to_owned(),
            key: key.to_owned(),
            value: value.trim().to_owned(),
            expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ini(text: &str) -> IniFile {
        IniFile::parse(Path::new("test.ini"), text).expect("valid ini")
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
        let section = file.section("kafka").expect("section");
        assert_eq!(
            section.get("bootstrap.servers").map(String::as_str),
            Some("127.0.0.1:9092")
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
            .parsed::<f64>("simulation", "time_scale", "a number")
            .expect_err("not a number");
        assert_eq!(
            error.to_string(),
            "test.ini: [simulation] time_scale = \"fast\" is not a number"
        );
    }

    #[test]
    fn booleans_accept_the_configparser_spellings() {
        let file = ini("[s]\na = yes\nb = Off\nc = maybe\n");
        assert!(file.boolean("s", "a").expect("yes"));
        assert!(!file.boolean("s", "b").expect("off"));
        assert!(file.boolean("s", "c").is_err());
    }
}
