//! A real Prometheus server (Debian's `prometheus` package; `tests/run.sh` installs it) that
//! scrapes the services under test every second and evaluates the shop's alerting rules
//! (`monitoring/alerts.yml`) as often, in a folder of its own on a free port, and its query API.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

use crate::broker::unused_port;

#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    dir: TempDir,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

/// One series of a query's answer: its labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// `$PROMETHEUS`, else Debian's.
pub fn binary() -> PathBuf {
    std::env::var_os("PROMETHEUS")
        .map_or_else(|| PathBuf::from("/usr/bin/prometheus"), PathBuf::from)
}

/// How often every target is scraped and every rule evaluated.
const INTERVAL: Duration = Duration::from_secs(1);
/// How long, once a value is reached, the scrapes that show it stays may take to come.
const NEXT_SCRAPES: Duration = Duration::from_secs(15);

/// Now, as Prometheus writes times: seconds since the epoch.
fn epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `host:port` of a `http://host:port/metrics` URL, as a scrape target.
fn target(url: &str) -> &str {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or(url)
}

impl Prometheus {
    /// Starts a server scraping each `(job, metrics URL)` every second; returns once it is ready.
    /// Alerts show as the `ALERTS` series.
    pub async fn start(jobs: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("prometheus-")
            .tempdir()
            .expect("temp dir");
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitoring/alerts.yml");
        let seconds = INTERVAL.as_secs();
        let mut config = format!(
            "global:\n  scrape_interval: {seconds}s\n  scrape_timeout: {seconds}s\n  \
             evaluation_interval: {seconds}s\n\
             rule_files:\n  - '{}'\nscrape_configs:\n",
            rules.display()
        );
        for (job, url) in jobs {
            config.push_str(&format!(
                "  - job_name: {job}\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['{}']\n",
                target(url)
            ));
        }
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).expect("write prometheus.yml");
        let port = unused_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(binary())
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}); install Debian's prometheus package or set $PROMETHEUS",
                    binary().display()
                )
            });
        let prometheus = Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        prometheus.wait_until_ready().await;
        prometheus
    }

    async fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = reqwest::get(format!("{}/-/ready", self.url)).await;
            if ready.is_ok_and(|answer| answer.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus did not get ready; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query through `/api/v1/query`; an error says what Prometheus answered.
    pub async fn query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        let answer = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", promql)])
            .send()
            .await
            .map_err(|e| format!("{promql}: {e}"))?;
        let body: serde_json::Value = answer
            .json()
            .await
            .map_err(|e| format!("{promql}: not JSON: {e}"))?;
        if body["status"] != "success" {
            return Err(format!("{promql}: {body}"));
        }
        let Some(results) = body["data"]["result"].as_array() else {
            return Err(format!("{promql}: not a vector: {body}"));
        };
        results
            .iter()
            .map(|series| {
                let labels = series["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                let value = series["value"][1]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| format!("{promql}: no value in {series}"))?;
                Ok(Sample { labels, value })
            })
            .collect()
    }

    /// The single value of a query that sums to one series; `None` while it has none.
    pub async fn value(&self, promql: &str) -> Option<f64> {
        match self.query(promql).await {
            Ok(samples) if samples.len() == 1 => Some(samples[0].value),
            _ => None,
        }
    }

    /// Waits until `promql` has a single value equal to `expected`, and checks it still has it
    /// once every target has been scraped twice more: a counter that overshoots its target, or
    /// a gauge that only passes through it, fails. On failure, says what it had.
    pub async fn wait_for_value(
        &self,
        promql: &str,
        expected: f64,
        timeout: Duration,
    ) -> Result<(), String> {
        self.wait_for_values(&[(promql.to_owned(), expected)], timeout)
            .await
    }

    /// [`Self::wait_for_value`] for several queries at once: each is reached, and then all of
    /// them still hold after the same two scrapes.
    pub async fn wait_for_values(
        &self,
        expected: &[(String, f64)],
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        for (promql, value) in expected {
            self.reached(promql, *value, timeout, deadline).await?;
        }
        self.scraped_twice_since(epoch_seconds()).await?;
        for (promql, value) in expected {
            let now = self.query(promql).await;
            if !matches!(&now, Ok(samples) if samples.len() == 1 && samples[0].value == *value) {
                return Err(format!(
                    "{promql} was {value}, and then {now:?} after the next scrapes"
                ));
            }
        }
        Ok(())
    }

    /// What `promql` is, as scraped after this call: every target has been scraped since.
    pub async fn value_now(&self, promql: &str) -> Result<f64, String> {
        self.scraped_twice_since(epoch_seconds()).await?;
        match self.query(promql).await? {
            samples if samples.len() == 1 => Ok(samples[0].value),
            samples => Err(format!("{promql} has no single value: {samples:?}")),
        }
    }

    async fn reached(
        &self,
        promql: &str,
        expected: f64,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<(), String> {
        loop {
            let now = self.query(promql).await;
            if let Ok(samples) = &now {
                if samples.len() == 1 && samples[0].value == expected {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{promql} is {now:?}, not {expected}, after {timeout:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Waits until every target's newest scrape is an interval past `since` (seconds since the
    /// epoch): each has then been scraped twice at or after it.
    async fn scraped_twice_since(&self, since: f64) -> Result<(), String> {
        let wanted = since + INTERVAL.as_secs_f64();
        let deadline = Instant::now() + NEXT_SCRAPES;
        loop {
            let oldest = self.value("min(timestamp(up))").await;
            if oldest.is_some_and(|at| at >= wanted) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the targets were not scraped again within {NEXT_SCRAPES:?}: the oldest \
                     newest scrape is at {oldest:?}, wanted {wanted}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metrics_url_becomes_a_target() {
        assert_eq!(target("http://127.0.0.1:9402/metrics"), "127.0.0.1:9402");
    }
}
