//! `./start_demo.sh` and `./stop_demo.sh` as someone who has just cloned the shop runs them: one
//! command opens the shop (its own local broker included), a pizza ordered in it is delivered,
//! and one command stops every process gracefully.
//!
//! The scripts run in a folder of their own whose entries link to the workspace, so their
//! `data/`, `logs/` and `pid/` cannot touch a demo running from the checkout; the shipped
//! configuration files get free ports and `time_scale = 0`, nothing else.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use pizza_tests::binaries::{target_dir, workspace_root};
use pizza_tests::broker::unused_port;
use pizza_tests::ini::set_key;
use pizza_tests::loadgen::Customer;
use tempfile::TempDir;

/// What the scripts read from the checkout: the workspace (they build it, a no-op after the
/// tests' own build), the configuration folders and the scripts themselves.
const LINKED: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "crates",
    "tests",
    "static",
    "templates",
    "ksql",
    "config_kafka",
    "config_sys",
    "start_demo.sh",
    "stop_demo.sh",
];

/// A checkout of links, where the demo runs. Dropping it stops whatever the demo left running.
struct DemoFolder {
    root: TempDir,
}

impl DemoFolder {
    fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("demo-")
            .tempdir()
            .expect("a temporary folder");
        for entry in LINKED {
            std::os::unix::fs::symlink(workspace_root().join(entry), root.path().join(entry))
                .expect("link into the checkout");
        }
        std::os::unix::fs::symlink(target_dir(), root.path().join("target"))
            .expect("link the target folder");
        Self { root }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    /// Writes a copy of a shipped configuration file, edited by `edit`, and returns its path.
    fn config(&self, shipped: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
        let text = fs::read_to_string(workspace_root().join(shipped)).expect("shipped config");
        let name = Path::new(shipped).file_name().expect("a file name");
        let path = self.path().join(name);
        fs::write(&path, edit(text)).expect("write the config copy");
        path
    }

    fn output(&self, script: &str, args: &[&Path]) -> Output {
        Command::new(self.path().join(script))
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("the script runs")
    }

    /// Runs a script that must succeed; returns what it printed.
    fn run(&self, script: &str, args: &[&Path]) -> String {
        let output = self.output(script, args);
        let said = text(&output.stdout);
        assert!(
            output.status.success(),
            "{script} failed:\n{said}\n{}",
            text(&output.stderr)
        );
        said
    }

    /// The processes the demo has recorded in `pid/`, by name.
    fn pids(&self) -> Vec<(String, u32)> {
        let Ok(entries) = fs::read_dir(self.path().join("pid")) else {
            return Vec::new();
        };
        let mut pids: Vec<(String, u32)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.path().file_stem()?.to_str()?.to_owned();
                let pid = fs::read_to_string(entry.path()).ok()?.trim().parse().ok()?;
                Some((name, pid))
            })
            .collect();
        pids.sort();
        pids
    }

    fn log(&self, name: &str) -> String {
        fs::read_to_string(self.path().join("logs").join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for DemoFolder {
    fn drop(&mut self) {
        if !self.pids().is_empty() {
            let _ = self.output("stop_demo.sh", &[]);
        }
    }
}

/// True while the process exists and has not exited (a zombie has exited).
fn running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z')
        })
        .unwrap_or(false)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SERVICES: [&str; 5] = ["assemble", "bake", "delivery", "status", "webapp"];

#[tokio::test(flavor = "multi_thread")]
async fn start_demo_opens_the_shop_a_pizza_is_delivered_and_stop_demo_stops_everything() {
    let demo = DemoFolder::new();
    let broker_port = unused_port();
    let web = format!("127.0.0.1:{}", unused_port());
    let kafka_ini = demo.config("config_kafka/localhost.ini", |text| {
        set_key(
            &text,
            "kafka",
            "bootstrap.servers",
            &format!("127.0.0.1:{broker_port}"),
        )
    });
    let sys_ini = demo.config("config_sys/default.ini", |text| {
        let text = set_key(&text, "simulation", "time_scale", "0");
        set_key(&text, "webapp", "bind", &web)
    });

    let said = demo.run("start_demo.sh", &[&kafka_ini, &sys_ini]);
    assert!(
        said.contains(&format!("The pizza shop is open: http://{web}")),
        "start_demo.sh did not say where the shop is:\n{said}"
    );
    assert!(
        said.contains(&format!(
            "Starting the local broker on 127.0.0.1:{broker_port}"
        )),
        "nothing listened on the configured broker port, so start_demo.sh should have started \
         one:\n{said}"
    );
    // run_me_first's log lines reach the script's output (the services' stdout is /dev/null).
    assert!(
        said.contains("(run_me_first) INFO") && said.contains("Topic 'pizza-ordered' created"),
        "start_demo.sh did not show run_me_first creating the topics:\n{said}"
    );
    let names: Vec<String> = demo.pids().into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        ["assemble", "bake", "broker", "delivery", "status", "webapp"],
        "pid/ should hold the broker and the five services"
    );

    let base = format!("http://{web}");
    let customer = Customer::login(&base, "Margherita")
        .await
        .expect("log in to the demo");
    let order = customer.order().await.expect("order a pizza");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = customer.status(&order).await.expect("the order's status");
        if status == 999 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "order {order} was not delivered within 30 s (status {status})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let processes = demo.pids();
    let stop_began = Instant::now();
    let said = demo.run("stop_demo.sh", &[]);
    let stop_took = stop_began.elapsed();
    // The script kills what is still running after 15 s; a graceful stop never needs that.
    assert!(
        !said.contains("Killed"),
        "a process did not stop gracefully:\n{said}"
    );
    for (name, pid) in &processes {
        assert!(
            said.contains(&format!("Stopped {name} (pid {pid})")),
            "stop_demo.sh did not report {name}:\n{said}"
        );
        assert!(
            !running(*pid),
            "{name} (pid {pid}) still runs after stop_demo.sh"
        );
    }
    assert!(
        demo.pids().is_empty(),
        "pid/ should be empty after stop_demo.sh"
    );
    for service in SERVICES {
        let log = demo.log(service);
        assert!(
            log.trim_end().ends_with("Graceful shutdown completed"),
            "{service} did not finish with a graceful shutdown; its log ends:\n{}",
            log.lines().rev().take(5).collect::<Vec<_>>().join("\n")
        );
    }
    eprintln!("stop_demo.sh took {stop_took:?}");
}
