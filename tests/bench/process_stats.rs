//! CPU time and resident memory of a process, read from /proc (Linux).

use std::time::Duration;

/// Ticks per second in `/proc/<pid>/stat`: USER_HZ, 100 on every Linux architecture in use.
const TICKS_PER_SECOND: f64 = 100.0;

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces): state is the
/// first of them (field 3), the parent pid the second, utime the 12th, stime the 13th, and
/// cutime and cstime (children reaped) the 14th and 15th.
fn stat_fields(pid: u32) -> Vec<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_name
        .split_whitespace()
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .collect()
}

fn ticks(fields: &[u64], range: std::ops::Range<usize>) -> Duration {
    let sum: u64 = range.filter_map(|i| fields.get(i)).sum();
    Duration::from_secs_f64(sum as f64 / TICKS_PER_SECOND)
}

/// User plus system CPU time the process has used so far.
pub(crate) fn cpu_time(pid: u32) -> Duration {
    ticks(&stat_fields(pid), 11..13)
}

/// CPU time of a server that works in child processes (PostgreSQL): the process, its children
/// alive now, and those it has reaped.
pub(crate) fn tree_cpu_time(pid: u32) -> Duration {
    let mut total = ticks(&stat_fields(pid), 11..15);
    let children = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok());
    for child in children {
        let fields = stat_fields(child);
        if fields.get(1) == Some(&u64::from(pid)) {
            total += ticks(&fields, 11..15);
        }
    }
    total
}

/// Resident set size in MB. It counts the executable's clean code pages, shared with the page
/// cache, as many as the kernel happened to map: more when the file was just built or read.
pub(crate) fn resident_mb(pid: u32) -> f64 {
    megabytes(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// Private dirty memory in MB: what the process alone holds and the kernel could not drop and
/// read back from a file (heap, stacks, queues, relocated data).
pub(crate) fn private_dirty_mb(pid: u32) -> f64 {
    megabytes(&format!("/proc/{pid}/smaps_rollup"), "Private_Dirty:")
}

/// A `key:   N kB` line of a /proc file, in MB.
fn megabytes(path: &str, key: &str) -> f64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        // Busy for 100 ms of wall time, so at least a few 10 ms ticks are counted.
        let started = std::time::Instant::now();
        let mut spin = 0u64;
        while started.elapsed() < Duration::from_millis(100) {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        assert!(cpu_time(me) >= Duration::from_millis(30));
        assert!(resident_mb(me) > 1.0);
        let private = private_dirty_mb(me);
        assert!(private > 0.1 && private < resident_mb(me), "{private}");
    }
}
