//! The contracts between the services: what each shop topic's events must hold, declared once as
//! a JSON Schema per topic in the repository's `schemas/` folder (docs/contracts.md).
//!
//! The same files are enforced in two places. The local broker reads them from disk and refuses
//! a produce batch holding a value that breaks one (`--schema-registry`, see `start_demo.sh`).
//! The shop's own producers check every value (and key) against the copy compiled into the
//! program before it joins a batch ([`crate::kafka::EventProducer`]), so a bug of ours is one
//! error naming the topic, the order and the broken rule, on any cluster: Confluent Cloud's
//! broker-side validation needs Confluent's wire format, so there this check is the enforcement.
//!
//! Each file describes a whole record, as the broker expects: `properties.value` is the value's
//! schema. The key is the order id as plain text, which the broker cannot check (a `key`
//! property would make it parse keys as JSON); its rule is `x-key`, which only our producers
//! apply.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::Value;

use crate::domain::topics::Topic;

/// A shop topic's schema file, as the repository has it.
struct Source {
    topic: Topic,
    /// The file's name in `schemas/`: its topic's default name, as the broker looks it up.
    file: &'static str,
    text: &'static str,
}

macro_rules! schema {
    ($topic:expr, $name:literal) => {
        Source {
            topic: $topic,
            file: concat!($name, ".json"),
            text: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../schemas/",
                $name,
                ".json"
            )),
        }
    };
}

/// Compiled into every program, so a binary enforces the contracts it was built and tested with.
const SOURCES: [Source; 6] = [
    schema!(Topic::Ordered, "pizza-ordered"),
    schema!(Topic::Assembled, "pizza-assembled"),
    schema!(Topic::Baked, "pizza-baked"),
    schema!(Topic::Delivered, "pizza-delivered"),
    schema!(Topic::Pending, "pizza-pending"),
    schema!(Topic::Status, "pizza-status"),
];

/// Where the contracts live in the repository, for messages and links.
pub const FOLDER: &str = "schemas";

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("{file}: not JSON: {source}")]
    NotJson {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: {what}")]
    Invalid { file: String, what: String },
    /// [`Contracts::shop`]'s, kept as its message (which names the file).
    #[error("{0}")]
    Compiled(String),
    #[error("{file}: cannot read it: {source}")]
    Unreadable {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// Why a value or key does not meet its topic's contract: the file and the rule, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {rule}")]
pub struct Violation {
    pub file: &'static str,
    /// Where in the value, and what is wrong there (`/baking_time: 5000 is greater than the
    /// maximum of 3600`).
    pub rule: String,
}

/// One topic's contract.
pub struct Contract {
    pub topic: Topic,
    pub file: &'static str,
    /// The whole file, for the pages that show it.
    pub schema: Value,
    version: u64,
    value: jsonschema::Validator,
    key: Option<jsonschema::Validator>,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("topic", &self.topic)
            .field("file", &self.file)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Contract {
    /// `path`: where the text came from, for the messages.
    fn compile(
        file: &'static str,
        path: &str,
        topic: Topic,
        text: &str,
    ) -> Result<Self, ContractError> {
        let schema: Value =
            serde_json::from_str(text).map_err(|source| ContractError::NotJson {
                file: path.to_owned(),
                source,
            })?;
        let invalid = |what: String| ContractError::Invalid {
            file: path.to_owned(),
            what,
        };
        let value_schema = schema
            .pointer("/properties/value")
            .ok_or_else(|| invalid("no properties.value: the value's schema".into()))?;
        let value = jsonschema::validator_for(value_schema)
            .map_err(|e| invalid(format!("properties.value is not a valid schema: {e}")))?;
        let key = schema
            .get("x-key")
            .map(jsonschema::validator_for)
            .transpose()
            .map_err(|e| invalid(format!("x-key is not a valid schema: {e}")))?;
        let version = schema
            .get("x-version")
            .and_then(Value::as_u64)
            .ok_or_else(|| invalid("no x-version: the contract's version number".into()))?;
        Ok(Self {
            topic,
            file,
            schema,
            version,
            value,
            key,
        })
    }

    /// The contract's version (`x-version`), raised by each change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether `value` meets the contract: the first rule it breaks, if any.
    pub fn check_value(&self, value: &Value) -> Result<(), Violation> {
        self.value.validate(value).map_err(|error| Violation {
            file: self.file,
            rule: rule(error.instance_path().as_str(), &error.to_string()),
        })
    }

    /// [`Self::check_value`] for a value as it goes on the wire.
    pub fn check_payload(&self, payload: &[u8]) -> Result<(), Violation> {
        let value: Value = serde_json::from_slice(payload).map_err(|error| Violation {
            file: self.file,
            rule: format!("the value is not JSON: {error}"),
        })?;
        self.check_value(&value)
    }

    /// Whether `key` meets the contract's `x-key` rule.
    pub fn check_key(&self, key: &str) -> Result<(), Violation> {
        let Some(validator) = &self.key else {
            return Ok(());
        };
        validator
            .validate(&Value::String(key.to_owned()))
            .map_err(|error| Violation {
                file: self.file,
                rule: format!("key: {error}"),
            })
    }

    /// The value's fields: name, whether required, type and description, for the pages.
    pub fn fields(&self) -> Vec<Field> {
        let value = self.schema.pointer("/properties/value");
        let required: Vec<&str> = value
            .and_then(|v| v.get("required"))
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        value
            .and_then(|v| v.get("properties"))
            .and_then(Value::as_object)
            .map(|properties| {
                properties
                    .iter()
                    .map(|(name, schema)| Field {
                        name: name.clone(),
                        required: required.contains(&name.as_str()),
                        kind: schema
                            .get("type")
                            .and_then(Value::as_str)
                            .unwrap_or("any")
                            .to_owned(),
                        description: schema
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A field of a contract's value, as the pages list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub required: bool,
    pub kind: String,
    pub description: String,
}

/// `/order/customer_id: "x" does not match "^[0-9A-Fa-f]+$"`; the top of the value is `value`.
fn rule(path: &str, what: &str) -> String {
    let at = if path.is_empty() { "value" } else { path };
    format!("{at}: {what}")
}

/// Every shop topic's contract.
#[derive(Debug)]
pub struct Contracts {
    by_topic: BTreeMap<Topic, Contract>,
}

static SHOP: LazyLock<Result<Contracts, String>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|source| {
            let path = format!("{FOLDER}/{}", source.file);
            Contract::compile(source.file, &path, source.topic, source.text)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Contracts::of)
        .map_err(|error| error.to_string())
});

impl Contracts {
    fn of(contracts: Vec<Contract>) -> Self {
        Self {
            by_topic: contracts.into_iter().map(|c| (c.topic, c)).collect(),
        }
    }

    /// The contracts compiled into this program, checked once. A program calls this at start, so
    /// a schema file that is not valid stops it there, with the file's name.
    pub fn shop() -> Result<&'static Contracts, ContractError> {
        SHOP.as_ref()
            .map_err(|message| ContractError::Compiled(message.clone()))
    }

    /// The contracts in a folder laid out as `schemas/` is (a file per topic, named by its
    /// default name): what a broker started on that folder enforces. Every shop topic must have
    /// one.
    pub fn load(folder: &std::path::Path) -> Result<Self, ContractError> {
        SOURCES
            .iter()
            .map(|source| {
                let path = folder.join(source.file);
                let shown = path.display().to_string();
                let text =
                    std::fs::read_to_string(&path).map_err(|e| ContractError::Unreadable {
                        file: shown.clone(),
                        source: e,
                    })?;
                Contract::compile(source.file, &shown, source.topic, &text)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::of)
    }

    /// The contracts of the topics that have a file in `folder`, which may have none:
    /// `schemas/previous/`, where a contract's previous version is kept after a change.
    pub fn load_some(folder: &std::path::Path) -> Result<Vec<Contract>, ContractError> {
        SOURCES
            .iter()
            .filter_map(|source| {
                let path = folder.join(source.file);
                let shown = path.display().to_string();
                match std::fs::read_to_string(&path) {
                    Ok(text) => Some(Contract::compile(source.file, &shown, source.topic, &text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => Some(Err(ContractError::Unreadable {
                        file: shown,
                        source: e,
                    })),
                }
            })
            .collect()
    }

    pub fn of_topic(&self, topic: Topic) -> Option<&Contract> {
        self.by_topic.get(&topic)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Contract> {
        self.by_topic.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> &'static Contracts {
        Contracts::shop().expect("the repository's contracts compile")
    }

    fn contract(topic: Topic) -> &'static Contract {
        shop().of_topic(topic).expect("a contract per stage topic")
    }

    #[test]
    fn every_shop_topic_but_the_dead_letters_has_a_contract() {
        for topic in Topic::ALL {
            assert_eq!(
                shop().of_topic(topic).is_some(),
                topic != Topic::DeadLetter,
                "{topic:?}"
            );
        }
    }

    #[test]
    fn the_files_the_broker_reads_are_the_ones_compiled_in() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let loaded = Contracts::load(&folder).expect("schemas/ loads");
        for contract in shop().iter() {
            let on_disk = loaded.of_topic(contract.topic).expect("same topics");
            assert_eq!(on_disk.schema, contract.schema, "{}", contract.file);
        }
    }

    #[test]
    fn a_broken_value_names_the_file_the_place_and_the_rule() {
        let broken = serde_json::json!({"status": 200, "baking_time": 5000, "timestamp": 1});
        let violation = contract(Topic::Assembled)
            .check_value(&broken)
            .expect_err("too long a bake");
        assert_eq!(violation.file, "pizza-assembled.json");
        assert!(
            violation
                .rule
                .starts_with("/baking_time: 5000 is greater than"),
            "{violation}"
        );
        let missing = contract(Topic::Baked)
            .check_payload(br#"{"status": 300}"#)
            .expect_err("no timestamp");
        assert!(missing.rule.contains("timestamp"), "{missing}");
        let not_json = contract(Topic::Baked)
            .check_payload(b"baked!")
            .expect_err("not JSON");
        assert!(
            not_json.rule.starts_with("the value is not JSON"),
            "{not_json}"
        );
    }

    #[test]
    fn keys_are_order_ids() {
        let ordered = contract(Topic::Ordered);
        assert_eq!(ordered.check_key("b32ad0f1"), Ok(()));
        for bad in ["", "with space", "<script>", &"x".repeat(65)] {
            assert!(ordered.check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_folder_without_a_topics_file_or_with_a_broken_one_is_refused_by_name() {
        let folder = tempfile::tempdir().expect("temp folder");
        let named = |file: &str| format!("{}: ", folder.path().join(file).display());
        let missing = Contracts::load(folder.path()).expect_err("empty folder");
        assert!(
            missing
                .to_string()
                .starts_with(&format!("{}cannot read it", named("pizza-ordered.json"))),
            "{missing}"
        );
        for source in SOURCES {
            std::fs::write(folder.path().join(source.file), source.text).expect("copy");
        }
        std::fs::write(folder.path().join("pizza-baked.json"), "{").expect("break");
        let broken = Contracts::load(folder.path()).expect_err("broken file");
        assert!(
            broken
                .to_string()
                .starts_with(&format!("{}not JSON", named("pizza-baked.json"))),
            "{broken}"
        );
        std::fs::write(
            folder.path().join("pizza-baked.json"),
            r#"{"x-version": 1, "properties": {"value": {"type": "nonsense"}}}"#,
        )
        .expect("break");
        let invalid = Contracts::load(folder.path()).expect_err("invalid schema");
        assert!(
            invalid.to_string().starts_with(&format!(
                "{}properties.value is not a valid schema",
                named("pizza-baked.json")
            )),
            "{invalid}"
        );
    }
}
