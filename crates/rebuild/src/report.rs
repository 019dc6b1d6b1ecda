//! What a rebuild read, skipped, kept and changed: the lines it ends with.

use std::time::Duration;

use common::settings::SysSettings;
use store::rebuild::Switched;

use crate::reading::{thousands, Read};
use crate::replay::{Tally, TOPICS};

pub(crate) struct Report {
    pub(crate) tally: Tally,
    /// Orders with statuses but no `pizza-ordered`, and how many statuses.
    pub(crate) incomplete: (usize, usize),
    /// Orders older than the view keeps.
    pub(crate) expired: usize,
    pub(crate) first_read: Read,
    pub(crate) orders: Switched,
    pub(crate) delivery: Switched,
    pub(crate) took: Duration,
}

impl Report {
    pub(crate) fn lines(&self, sys: &SysSettings) -> Vec<String> {
        let tally = &self.tally;
        let read: u64 = tally.read.iter().sum();
        let rate = self.first_read.events as f64 / self.first_read.took.as_secs_f64().max(1e-3);
        let mut lines = vec![format!(
            "Rebuilt in {:.1} s: {} events read ({} events/s), {} orders",
            self.took.as_secs_f64(),
            thousands(read),
            thousands(rate as u64),
            thousands(tally.orders)
        )];
        for (slot, topic) in TOPICS.iter().enumerate() {
            let mut line = format!(
                "  {}: {} events",
                sys.topics.name(*topic),
                thousands(tally.read[slot])
            );
            if let Some(first) = tally.first_at[slot] {
                line += &format!(", the first written {}", when(first));
            }
            if tally.malformed[slot] > 0 {
                line += &format!(
                    "; {} malformed, skipped as the live services skip them (their dead letters are on {})",
                    thousands(tally.malformed[slot]),
                    sys.topics.dead_letter
                );
            }
            lines.push(line);
        }
        lines.push(format!(
            "  statuses: {} changed what their order showed, {} were older than what it showed",
            thousands(tally.folded),
            thousands(tally.older)
        ));
        let writers: Vec<String> = tally
            .writers
            .iter()
            .map(|(writer, count)| {
                let writer = writer.as_deref().unwrap_or(
                    "no written_by (the original's services, ksqlDB, or this shop before contract version 2)",
                );
                format!("{writer} {}", thousands(*count))
            })
            .collect();
        if !writers.is_empty() {
            lines.push(format!("  statuses written by: {}", writers.join(", ")));
        }
        if !tally.unnamed_codes.is_empty() {
            let codes: Vec<String> = tally
                .unnamed_codes
                .iter()
                .map(|(code, count)| format!("{code} ({})", thousands(*count)))
                .collect();
            lines.push(format!(
                "  statuses [status-id] does not name: {}; folded, as the status service folds them",
                codes.join(", ")
            ));
        }
        if tally.placed_again > 0 {
            lines.push(format!(
                "  {} pizza-ordered events of orders already placed: the first one counts",
                thousands(tally.placed_again)
            ));
        }
        let (orders, statuses) = self.incomplete;
        if orders > 0 {
            lines.push(format!(
                "  incomplete: {} orders have statuses ({}) but no pizza-ordered event in the history (it begins after they were placed, or theirs was malformed); they are not invented",
                thousands(orders as u64),
                thousands(statuses as u64)
            ));
        }
        if self.expired > 0 {
            lines.push(format!(
                "  {} orders are older than the view keeps ([state-store-orders] table_orders_retention_hours = {}): left out",
                thousands(self.expired as u64),
                sys.orders_store.table_orders_retention_hours
            ));
        }
        if tally.unroutable > 0 {
            lines.push(format!(
                "  {} early warnings name a customer delivery cannot route: not in delivery's store, as delivery dead-letters them",
                thousands(tally.unroutable)
            ));
        }
        let (orders, delivery) = (&self.orders, &self.delivery);
        lines.push(format!(
            "Orders view switched: {} orders changed (the pages following them were told), {} flagged stuck by the watchdog's rule; kept from the live view: {} placed during the rebuild, {} the history does not hold",
            thousands(orders.changed),
            thousands(orders.flagged),
            thousands(orders.kept_recent),
            thousands(orders.kept_older)
        ));
        lines.push(format!(
            "Delivery's store switched: {} rows changed; kept from the live store: {} that delivery changed during the rebuild or a driver still holds, {} the history does not hold",
            thousands(delivery.changed),
            thousands(delivery.kept_recent),
            thousands(delivery.kept_older)
        ));
        lines
    }

    pub(crate) fn log(&self, sys: &SysSettings) {
        for line in self.lines(sys) {
            tracing::info!("{line}");
        }
    }
}

/// A time in ms since the epoch, as UTC.
fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}
