//! A workaround for the local broker: it notices offsets of a partition that were never received
//! and has them read again once. Switched on by `[local-broker] reread_skipped_offsets = true`
//! (`config_kafka/localhost.ini`); Apache Kafka and Confluent Cloud do not need it.
//!
//! Offsets on the shop's topics are dense (no compaction, no transactions), so a jump means
//! events this member has not seen. nisshi 0.8.1 (like tansu 0.6.0 before it) shows this under
//! concurrent producers: a fetch can return a later batch of a partition before an earlier one is
//! visible, and the earlier one is never delivered (`tests/it/skipped_offsets.rs` shows it with
//! plain clients). Seeking back to the first missing offset recovers it (the events after it come
//! again, and handling is idempotent). A gap that is still there after one re-read is accepted,
//! as on a cluster with transaction markers or compaction, where it is normal.

use std::collections::HashMap;

use super::offsets::Position;

/// What to do with an event that just arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arrival {
    /// Handle it.
    InOrder,
    /// Skip it and seek back to `first`: offsets `first..=last` never arrived.
    ReadAgain { first: i64, last: i64 },
    /// Handle it; offsets `first..=last` were not there even when read again.
    GapAccepted { first: i64, last: i64 },
}

#[derive(Debug, Default)]
pub(super) struct SkippedOffsets {
    /// Per partition, the last offset taken for handling.
    last: HashMap<(String, i32), i64>,
    /// Per partition, the first offset of the gap already read again.
    read_again: HashMap<(String, i32), i64>,
    /// The rebalance count this bookkeeping belongs to: after a rebalance a partition resumes
    /// from its committed offset, wherever the previous owner left it.
    rebalances: u64,
}

impl SkippedOffsets {
    pub(super) fn arrived(
        &mut self,
        (topic, partition, offset): &Position,
        rebalances: u64,
    ) -> Arrival {
        if rebalances != self.rebalances {
            self.last.clear();
            self.read_again.clear();
            self.rebalances = rebalances;
        }
        let key = (topic.clone(), *partition);
        let arrival = match self.last.get(&key) {
            Some(previous) if *offset > previous + 1 => {
                let (first, last) = (previous + 1, offset - 1);
                if self.read_again.get(&key) == Some(&first) {
                    Arrival::GapAccepted { first, last }
                } else {
                    self.read_again.insert(key, first);
                    return Arrival::ReadAgain { first, last };
                }
            }
            _ => Arrival::InOrder,
        };
        self.last.insert(key, *offset);
        arrival
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(partition: i32, offset: i64) -> Position {
        ("pizza-status".to_owned(), partition, offset)
    }

    #[test]
    fn a_gap_is_read_again_once_then_accepted() {
        let mut guard = SkippedOffsets::default();
        assert_eq!(guard.arrived(&at(0, 5), 1), Arrival::InOrder);
        assert_eq!(guard.arrived(&at(1, 9), 1), Arrival::InOrder);
        assert_eq!(
            guard.arrived(&at(0, 9), 1),
            Arrival::ReadAgain { first: 6, last: 8 }
        );
        // Read again from 6: the missing events come, then the one after them again.
        for offset in 6..=9 {
            assert_eq!(guard.arrived(&at(0, offset), 1), Arrival::InOrder);
        }
        // A gap that is still there after its re-read is real.
        assert_eq!(
            guard.arrived(&at(1, 12), 1),
            Arrival::ReadAgain {
                first: 10,
                last: 11
            }
        );
        assert_eq!(
            guard.arrived(&at(1, 12), 1),
            Arrival::GapAccepted {
                first: 10,
                last: 11
            }
        );
        assert_eq!(guard.arrived(&at(1, 13), 1), Arrival::InOrder);
    }

    #[test]
    fn replays_and_rebalances_are_not_gaps() {
        let mut guard = SkippedOffsets::default();
        assert_eq!(guard.arrived(&at(0, 5), 1), Arrival::InOrder);
        assert_eq!(guard.arrived(&at(0, 3), 1), Arrival::InOrder);
        // After a rebalance the partition resumes where its last owner committed.
        assert_eq!(guard.arrived(&at(0, 40), 2), Arrival::InOrder);
    }
}
