//! Which offsets the consume loop may hand to librdkafka. Events finish in the order they were
//! received (the loop guarantees that); an event left unfinished by a shutdown blocks every later
//! offset of its partition, so the unfinished one is redone after a restart instead of skipped.

use std::collections::{HashMap, HashSet};

/// Topic, partition, offset of one event.
pub(super) type Position = (String, i32, i64);

#[derive(Debug, Default)]
pub(super) struct OffsetTracker {
    /// Per partition, the offset a restarted consumer should read next.
    next: HashMap<(String, i32), i64>,
    blocked: HashSet<(String, i32)>,
}

impl OffsetTracker {
    /// Records that an event is done with; returns whether its offset may be stored.
    pub(super) fn finished(&mut self, (topic, partition, _): &Position, handled: bool) -> bool {
        let key = (topic.clone(), *partition);
        if !handled {
            self.blocked.insert(key);
            return false;
        }
        !self.blocked.contains(&key)
    }

    /// Records that librdkafka accepted the offset.
    pub(super) fn stored(&mut self, (topic, partition, offset): &Position) {
        self.next.insert((topic.clone(), *partition), offset + 1);
    }

    /// Every partition's next offset, for the final commit.
    pub(super) fn next_offsets(&self) -> impl Iterator<Item = (&str, i32, i64)> {
        self.next
            .iter()
            .map(|((topic, partition), next)| (topic.as_str(), *partition, *next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(partition: i32, offset: i64) -> Position {
        ("pizza-ordered".to_owned(), partition, offset)
    }

    fn finish(tracker: &mut OffsetTracker, position: Position, handled: bool) -> bool {
        let may = tracker.finished(&position, handled);
        if may {
            tracker.stored(&position);
        }
        may
    }

    #[test]
    fn handled_events_are_stored_and_commit_the_next_offset() {
        let mut tracker = OffsetTracker::default();
        assert!(finish(&mut tracker, at(0, 7), true));
        assert!(finish(&mut tracker, at(0, 8), true));
        assert_eq!(
            tracker.next_offsets().collect::<Vec<_>>(),
            [("pizza-ordered", 0, 9)]
        );
    }

    #[test]
    fn an_unfinished_event_blocks_its_partition_only() {
        let mut tracker = OffsetTracker::default();
        assert!(finish(&mut tracker, at(0, 7), true));
        assert!(!finish(&mut tracker, at(0, 8), false));
        assert!(
            !finish(&mut tracker, at(0, 9), true),
            "a later offset would skip offset 8"
        );
        assert!(
            finish(&mut tracker, at(1, 3), true),
            "other partitions go on"
        );
        let mut next: Vec<_> = tracker.next_offsets().collect();
        next.sort();
        assert_eq!(next, [("pizza-ordered", 0, 8), ("pizza-ordered", 1, 4)]);
    }
}
