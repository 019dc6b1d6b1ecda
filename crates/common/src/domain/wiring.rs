//! The shop's five programs and its wiring: which topics each reads and writes. Their names are
//! kept here and nowhere else: the scripts ask `run_me_first --services` for them, and the log
//! panel, the benchmark and the tests use this list.

use std::fmt;

use crate::domain::topics::Topic;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceName {
    Status,
    Delivery,
    Bake,
    Assemble,
    Webapp,
}

impl ServiceName {
    /// In the order they are started: each stage's reader is up before its writer, so the first
    /// order finds the whole kitchen waiting.
    pub const ALL: [ServiceName; 5] = [
        ServiceName::Status,
        ServiceName::Delivery,
        ServiceName::Bake,
        ServiceName::Assemble,
        ServiceName::Webapp,
    ];

    /// In the order an order meets them, from the web app to the status service. Log lines of one
    /// order with the same time are shown in this order: the earlier stage's line caused the
    /// later one.
    pub const FLOW: [ServiceName; 5] = [
        ServiceName::Webapp,
        ServiceName::Assemble,
        ServiceName::Bake,
        ServiceName::Delivery,
        ServiceName::Status,
    ];

    /// The binary's name, its log file's name (`logs/<name>.log`) and its tag in log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Status => "status",
            ServiceName::Delivery => "delivery",
            ServiceName::Bake => "bake",
            ServiceName::Assemble => "assemble",
            ServiceName::Webapp => "webapp",
        }
    }

    /// Its key in the original's `[kafka-consumer-group-id]` and `[kafka-client-id]` sections.
    pub fn config_key(self) -> &'static str {
        match self {
            ServiceName::Status => "microservice_status",
            ServiceName::Delivery => "microservice_delivery",
            ServiceName::Bake => "microservice_baked",
            ServiceName::Assemble => "microservice_assembled",
            ServiceName::Webapp => "webapp",
        }
    }

    /// The stage topics its consumer group reads: the shop's wiring, declared once (the services
    /// subscribe to these, and the shop floor draws them, running or not).
    pub const fn consumes(self) -> &'static [Topic] {
        match self {
            ServiceName::Webapp => &[],
            ServiceName::Assemble => &[Topic::Ordered],
            ServiceName::Bake => &[Topic::Assembled],
            ServiceName::Delivery => &[Topic::Ordered, Topic::Baked],
            ServiceName::Status => &[Topic::Status],
        }
    }

    /// The stage topics it writes. Every program but `status` also writes `pizza-status` (see
    /// [`Self::writes_status`]), and any may write the dead-letter topic.
    pub const fn produces(self) -> &'static [Topic] {
        match self {
            ServiceName::Webapp => &[Topic::Ordered],
            ServiceName::Assemble => &[Topic::Assembled],
            ServiceName::Bake => &[Topic::Baked],
            ServiceName::Delivery => &[Topic::Pending, Topic::Delivered],
            ServiceName::Status => &[],
        }
    }

    /// Whether it writes its stage's status on `pizza-status` (unless ksqlDB copies it).
    pub const fn writes_status(self) -> bool {
        !matches!(self, ServiceName::Status)
    }

    /// The programs that write `topic`, in the order an order meets them (`pizza-status`: every
    /// one that writes its stage's status).
    pub fn writers(topic: Topic) -> Vec<ServiceName> {
        Self::FLOW
            .into_iter()
            .filter(|s| {
                s.produces().contains(&topic) || (topic == Topic::Status && s.writes_status())
            })
            .collect()
    }

    /// The programs whose consumer groups read `topic`.
    pub fn readers(topic: Topic) -> Vec<ServiceName> {
        Self::FLOW
            .into_iter()
            .filter(|s| s.consumes().contains(&topic))
            .collect()
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for service in ServiceName::ALL {
            assert_eq!(ServiceName::parse(service.as_str()), Some(service));
        }
        assert_eq!(ServiceName::parse("oven"), None);
    }
}
