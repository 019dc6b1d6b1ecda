//! The shop's topics, as the code speaks of them: one per stage of an order, `pizza-status`, and
//! the dead-letter topic. What each is called on the cluster is configuration
//! ([`crate::settings::Topics`], read from `[kafka-topics]`, with each topic's key there and its
//! default name: [`Topic::config_key`], [`Topic::default_name`]).

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
}
