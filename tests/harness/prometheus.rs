//! A real Prometheus server (Debian's `prometheus` package; `tests/run.sh` installs it) that
//! scrapes the services under test every second and evaluates the shop's alerting rules
//! (`monitoring/alerts.yml`) as often, in a folder of its own on a free port, and its query API.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
        let mut config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
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

    /// Waits until `promql` has a single value equal to `expected`; on timeout, says what it had.
    pub async fn wait_for_value(
        &self,
        promql: &str,
        expected: f64,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
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
