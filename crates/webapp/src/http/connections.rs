//! How many connections the web app holds at once: `[webapp] max_connections`, or what the
//! process's descriptor limit allows, whichever is lower, so accepting never fails with "too many
//! open files" before the cap refuses anyone cleanly.

/// Descriptors kept back from the connection cap for the log files, the store, the broker's
/// sockets and the watch on the log folder.
pub const RESERVED_DESCRIPTORS: u64 = 64;
/// The most connections counted, whatever the limits say (an unlimited descriptor limit, say):
/// far more than one web app process serves.
pub const MAX_CONNECTIONS_CEILING: usize = 1 << 20;

/// The connection cap actually used: the configured one, or the descriptor limit less a
/// reserve, and never more than the descriptors allow.
pub fn connection_cap(configured: Option<usize>, descriptor_limit: Option<u64>) -> usize {
    let allowed = descriptor_limit
        .map(|limit| limit.saturating_sub(RESERVED_DESCRIPTORS).max(1))
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    configured
        .unwrap_or(allowed)
        .min(allowed)
        .min(MAX_CONNECTIONS_CEILING)
}

/// The process's soft limit on open descriptors, where the system says.
pub fn descriptor_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_descriptor_limit() {
        assert_eq!(connection_cap(Some(5000), Some(1024)), 960);
        assert_eq!(connection_cap(Some(5000), None), 5000);
        assert_eq!(connection_cap(None, None), MAX_CONNECTIONS_CEILING);
        assert_eq!(connection_cap(None, Some(1024)), 960);
    }
}
