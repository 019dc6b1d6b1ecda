//! Reading the history: every partition of the rebuild's topics, from where the last read ended
//! (the first event the cluster still keeps, the first time) to the end it has when the read
//! begins, with a line of progress every second. Blocking: run it on a blocking thread.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::domain::topics::Topic;
use common::kafka::{HistoryError, HistoryReader, Stretch};
use common::settings::{KafkaSettings, SysSettings};

use crate::replay::{Replay, TOPICS};

/// How long the broker may send nothing while a partition still holds events to read.
const PATIENCE: Duration = Duration::from_secs(30);
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct History {
    reader: HistoryReader,
    /// Each topic's name on the cluster, in [`TOPICS`] order.
    names: Vec<String>,
    /// Where the next read of each partition begins.
    next: HashMap<(usize, i32), i64>,
}

/// What one read went through.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Read {
    pub(crate) events: u64,
    pub(crate) took: Duration,
}

impl History {
    pub(crate) fn new(kafka: &KafkaSettings, sys: &SysSettings) -> Result<Self, HistoryError> {
        let client_id = format!("{}_rebuild", sys.client_ids.status);
        Ok(Self {
            reader: HistoryReader::new(kafka, &client_id, PATIENCE)?,
            names: TOPICS
                .iter()
                .map(|topic| sys.topics.name(*topic).to_owned())
                .collect(),
            next: HashMap::new(),
        })
    }

    /// Each topic's stretches from where the last read ended to the end now; a partition new
    /// since then is read from its first event.
    fn stretches(&self) -> Result<Vec<Vec<Stretch>>, HistoryError> {
        self.names
            .iter()
            .enumerate()
            .map(|(slot, name)| {
                Ok(self
                    .reader
                    .watermarks(name)?
                    .into_iter()
                    .map(|(partition, low, high)| Stretch {
                        partition,
                        from: self
                            .next
                            .get(&(slot, partition))
                            .copied()
                            .unwrap_or(low)
                            .max(low),
                        end: high,
                    })
                    .collect())
            })
            .collect()
    }

    /// Reads on to the end each topic has now, folding every event into `replay`; with
    /// `progress`, says every second how far it got, topic by topic.
    pub(crate) fn read_on(
        &mut self,
        replay: &mut Replay,
        stop: &dyn Fn() -> bool,
        progress: bool,
    ) -> Result<Read, HistoryError> {
        let started = Instant::now();
        let stretches = self.stretches()?;
        let totals: Vec<u64> = stretches
            .iter()
            .map(|s| {
                s.iter()
                    .map(|s| u64::try_from(s.end - s.from).unwrap_or(0))
                    .sum()
            })
            .collect();
        let mut done = vec![0u64; TOPICS.len()];
        let mut said = Instant::now();
        for (slot, stretches) in stretches.iter().enumerate() {
            let kind: Topic = TOPICS[slot];
            self.reader
                .scan(&self.names[slot], stretches, stop, |record| {
                    replay.read(kind, &record);
                    done[slot] += 1;
                    if progress && said.elapsed() >= PROGRESS_EVERY {
                        said = Instant::now();
                        tracing::info!("Read {}", self.progress(&done, &totals));
                    }
                })?;
            for stretch in stretches {
                self.next.insert((slot, stretch.partition), stretch.end);
            }
        }
        if progress {
            tracing::info!("Read {}", self.progress(&done, &totals));
        }
        Ok(Read {
            events: done.iter().sum(),
            took: started.elapsed(),
        })
    }

    /// `pizza-ordered 1,200 of 5,000 · pizza-status 0 of 20,000 · …`
    fn progress(&self, done: &[u64], totals: &[u64]) -> String {
        self.names
            .iter()
            .zip(done.iter().zip(totals))
            .map(|(name, (done, total))| {
                format!("{name} {} of {}", thousands(*done), thousands(*total))
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_in_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
