//! `[kafka-topics]`: the name of each topic the shop uses. Code speaks of a [`Topic`] (the
//! shop's domain, [`crate::domain::topics`]); only the configuration knows what it is called on
//! the cluster.

use super::{IniFile, SettingsError};
use crate::domain::topics::Topic;

/// What a [`Topic`] is called where the configuration names it.
impl Topic {
    /// Its name in the original's configuration.
    pub fn default_name(self) -> &'static str {
        match self {
            Topic::Ordered => "pizza-ordered",
            Topic::Assembled => "pizza-assembled",
            Topic::Baked => "pizza-baked",
            Topic::Delivered => "pizza-delivered",
            Topic::Pending => "pizza-pending",
            Topic::Status => "pizza-status",
            Topic::DeadLetter => DEFAULT_DEAD_LETTER,
        }
    }

    /// Its key in `[kafka-topics]`.
    pub fn config_key(self) -> &'static str {
        match self {
            Topic::Ordered => "pizza_ordered",
            Topic::Assembled => "pizza_assembled",
            Topic::Baked => "pizza_baked",
            Topic::Delivered => "pizza_delivered",
            Topic::Pending => "pizza_pending",
            Topic::Status => "pizza_status",
            Topic::DeadLetter => "dead_letter",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub ordered: String,
    pub assembled: String,
    pub baked: String,
    pub delivered: String,
    pub pending: String,
    pub status: String,
    pub dead_letter: String,
}

/// The dead-letter topic is this port's addition, so a file without it (the original's) gets this.
pub const DEFAULT_DEAD_LETTER: &str = "pizza-dead-letter";

impl Topics {
    pub(super) fn from_ini(file: &IniFile) -> Result<Self, SettingsError> {
        const SECTION: &str = "kafka-topics";
        let topic = |topic: Topic| file.string(SECTION, topic.config_key());
        Ok(Self {
            ordered: topic(Topic::Ordered)?,
            assembled: topic(Topic::Assembled)?,
            baked: topic(Topic::Baked)?,
            delivered: topic(Topic::Delivered)?,
            pending: topic(Topic::Pending)?,
            status: topic(Topic::Status)?,
            dead_letter: file
                .optional(SECTION, Topic::DeadLetter.config_key())?
                .unwrap_or_else(|| DEFAULT_DEAD_LETTER.to_owned()),
        })
    }

    pub fn name(&self, topic: Topic) -> &str {
        match topic {
            Topic::Ordered => &self.ordered,
            Topic::Assembled => &self.assembled,
            Topic::Baked => &self.baked,
            Topic::Delivered => &self.delivered,
            Topic::Pending => &self.pending,
            Topic::Status => &self.status,
            Topic::DeadLetter => &self.dead_letter,
        }
    }

    /// Which topic a name from the cluster is.
    pub fn topic(&self, name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| self.name(*t) == name)
    }

    pub fn names(&self, topics: &[Topic]) -> Vec<&str> {
        topics.iter().map(|t| self.name(*t)).collect()
    }
}
