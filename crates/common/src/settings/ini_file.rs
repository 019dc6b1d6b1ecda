//! One ini file, read the way Python's `configparser` reads the original demo's files (indented
//! continuation lines make multi-line values), with typed getters whose errors name the file,
//! the section and the key.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ini::{Ini, ParseOption, Properties};

use super::SettingsError;

/// A parsed ini file that remembers where it came from, so every error can say so.
#[derive(Debug, Clone)]
pub struct IniFile {
    path: PathBuf,
    ini: Ini,
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
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn has_section(&self, section: &str) -> bool {
        self.ini.section(Some(section)).is_some()
    }

    /// Every key of a section, in file order (the `[kafka]` section is passed to librdkafka as it is).
    pub fn section(&self, section: &str) -> Result<Vec<(String, String)>, SettingsError> {
        Ok(self
            .properties(section)?
            .iter()
            .map(|(key, value)| (key.to_owned(), value.trim().to_owned()))
            .collect())
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
        match self.ini.get_from(Some(section), key).map(str::trim) {
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
        match self.ini.get_from(Some(section), key) {
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

    /// The error for a value that is there but wrong.
    pub fn invalid(
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

    fn properties(&self, section: &str) -> Result<&Properties, SettingsError> {
        self.ini
            .section(Some(section))
            .ok_or_else(|| SettingsError::MissingSection {
                file: self.path.clone(),
                section: section.to_owned(),
            })
    }

    fn raw(&self, section: &str, key: &str) -> Result<&str, SettingsError> {
        self.properties(section)?
            .get(key)
            .ok_or_else(|| SettingsError::MissingKey {
                file: self.path.clone(),
                section: section.to_owned(),
                key: key.to_owned(),
            })
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
