//! `[kafka-topics]`: the name of each topic the shop uses. Code speaks of a [`Topic`]; only the
//! configuration knows what it is called on the cluster.

use super::{IniFile, SettingsError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Ordered,
    Assembled,
    Baked,
    Delivered,
    Pending,
    Status,
    /// Where events no service can handle are copied, with the reason in a header.
    DeadLetter,
}

impl Topic {
    /// The six topics of the original, in its order, then the dead-letter topic this port adds.
    pub const ALL: [Topic; 7] = [
        Topic::Pending,
        Topic::Ordered,
        Topic::Assembled,
        Topic::Baked,
        Topic::Delivered,
        Topic::Status,
        Topic::DeadLetter,
    ];

    /// The stages of an order: each one's event carries the status it reached, which
    /// `pizza-status` gets too (from the service, or from ksqlDB's persistent queries).
    pub const STAGES: [Topic; 5] = [
        Topic::Ordered,
        Topic::Assembled,
        Topic::Baked,
        Topic::Delivered,
        Topic::Pending,
    ];

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
