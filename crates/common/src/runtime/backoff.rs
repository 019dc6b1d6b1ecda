//! The pause between attempts at something that failed for now (the broker, a database): short
//! at first, doubling up to a ceiling, so a brief hiccup costs little and a long outage is not
//! hammered. Shutdown ends the wait at once.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

const FIRST: Duration = Duration::from_millis(100);
/// The longest pause: a service notices within this that what it waits for is back.
pub const CEILING: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: FIRST }
    }
}

impl Backoff {
    /// How long the next [`Self::wait`] pauses, for the log line that announces it.
    pub fn pause(&self) -> Duration {
        self.next
    }

    /// Pauses, then doubles the next pause; `false` when `shutdown` came first.
    pub async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let pause = self.advance();
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(pause) => true,
        }
    }
}

impl Backoff {
    fn advance(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(CEILING);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_ceiling() {
        let mut backoff = Backoff::default();
        let pauses: Vec<Duration> = (0..8).map(|_| backoff.advance()).collect();
        assert_eq!(pauses[..3], [FIRST, FIRST * 2, FIRST * 4]);
        assert_eq!(pauses[6..], [CEILING, CEILING]);
    }

    #[tokio::test]
    async fn shutdown_ends_the_wait() {
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        let mut backoff = Backoff {
            next: CEILING * 100,
        };
        assert!(!backoff.wait(&shutdown).await);
    }
}
