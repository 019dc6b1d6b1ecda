//! `./start_demo.sh` and `./stop_demo.sh` as someone who has just cloned the shop runs them: one
//! command opens the shop (its own local broker included), a pizza ordered in it is delivered,
//! and one command stops every process gracefully. What they print where the original's scripts
//! print something for the same event is the original's text.
//!
//! The scripts run in a folder of their own whose entries link to the workspace, so their
//! `data/`, `logs/` and `pid/` cannot touch a demo running from the checkout; the shipped
//! configuration files get free ports and `time_scale = 0`, nothing else.
//!
//! The scripts also run on macOS, whose tools are BSD's and whose bash is 3.2: a plain test
//! reads them for what only Linux, GNU's tools or a newer bash have.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use pizza_tests::binaries::{target_dir, workspace_root};
use pizza_tests::broker::unused_port;
use pizza_tests::gate;
use pizza_tests::ini::set_key;
use pizza_tests::loadgen::Customer;
use tempfile::TempDir;

/// What the scripts read from the checkout: the workspace (they build it, a no-op after the
/// tests' own build), the configuration folders, the scripts themselves and what they source.
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
    "scripts",
    "schemas",
    "broker",
    "start_demo.sh",
    "stop_demo.sh",
];

/// A checkout of links, where the demo runs. Dropping it stops whatever the demo left running.
struct DemoFolder {
    root: TempDir,
    /// Variables every script is run with, as a deployment would export them.
    env: Vec<(String, String)>,
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
        Self {
            root,
            env: Vec::new(),
        }
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

    /// The shipped configuration files with the broker on `broker_port`, the web app on `web`
    /// and an instant kitchen, nothing else changed.
    fn shipped_files(&self, broker_port: u16, web: &str) -> (PathBuf, PathBuf) {
        let kafka_ini = self.config("config_kafka/localhost.ini", |text| {
            set_key(
                &text,
                "kafka",
                "bootstrap.servers",
                &format!("127.0.0.1:{broker_port}"),
            )
        });
        let sys_ini = self.config("config_sys/default.ini", |text| {
            let text = set_key(&text, "simulation", "time_scale", "0");
            set_key(&text, "webapp", "bind", web)
        });
        (kafka_ini, sys_ini)
    }

    fn output(&self, script: &str, args: &[&Path]) -> Output {
        Command::new(self.path().join(script))
            .args(args)
            .envs(self.env.iter().map(|(name, value)| (name, value)))
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

/// True while the process exists and has not exited (a zombie has exited). Asked of `ps`, as
/// the scripts ask it, so the test runs where they do.
fn running(pid: u32) -> bool {
    Command::new("ps")
        .args(["-o", "stat=", "-p", &pid.to_string()])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| text(&output.stdout).trim().chars().next())
        .is_some_and(|state| state != 'Z')
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SERVICES: [&str; 5] = ["assemble", "bake", "delivery", "status", "webapp"];

/// The original's `[kafka-topics]` keys and topic names, in its order, then the dead-letter
/// topic this port adds.
const TOPICS: [(&str, &str); 7] = [
    ("pizza_pending", "pizza-pending"),
    ("pizza_ordered", "pizza-ordered"),
    ("pizza_assembled", "pizza-assembled"),
    ("pizza_baked", "pizza-baked"),
    ("pizza_delivered", "pizza-delivered"),
    ("pizza_status", "pizza-status"),
    ("dead_letter", "pizza-dead-letter"),
];

/// The last lines of the original's `start_demo.sh`, with the address the web app answers on.
fn banner(address: &str) -> String {
    let rule = "#######################################################";
    format!("\n{rule}\nNavigate to http://{address} to order your pizza\n{rule}\n\n")
}

/// The original's `stop_demo.sh` names each pid file as it signals its process.
fn stopping(name: &str) -> String {
    format!("\nStopping process pid/{name}.pid...\n")
}

const DEMO_STOPPED: &str = "\nDemo stopped\n\n";

/// The line after the first line holding `needle`.
fn line_after<'a>(said: &'a str, needle: &str) -> Option<&'a str> {
    let mut lines = said.lines();
    lines.by_ref().find(|line| line.contains(needle))?;
    lines.next()
}

/// run_me_first's lines for each topic, as the original's `run_me_first.py` logs them: the
/// configured partitions and replication factor (the demo's local broker holds one replica, which
/// a warning before these lines says), then what became of the topic.
fn assert_topic_lines(said: &str, outcome: &str) {
    let logged = |line: &str, message: &str| {
        line.starts_with("(run_me_first) INFO ") && line.ends_with(&format!(" - {message}"))
    };
    for (key, topic) in TOPICS {
        let message = format!(
            "Creating topic {key} as '{topic}' with 1 partition(s) and replication factor 3..."
        );
        assert!(
            said.lines().any(|line| logged(line, &message)),
            "run_me_first did not log {message:?}:\n{said}"
        );
        assert!(
            line_after(said, &message).is_some_and(|line| logged(line, outcome)),
            "{outcome:?} should follow {message:?}:\n{said}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn start_demo_opens_the_shop_a_pizza_is_delivered_and_stop_demo_stops_everything() {
    // The demo starts its own broker, not the harness's, so it says it loads the machine.
    let _load = gate::load();
    let mut demo = DemoFolder::new();
    let broker_port = unused_port();
    let web_port = unused_port();
    let web = format!("127.0.0.1:{web_port}");
    // The web app's address comes from the environment, over another in the file: the script
    // must wait for, and announce, the one the web app binds.
    demo.env
        .push(("PIZZA_SYS__WEBAPP__BIND".into(), web.clone()));
    let web_in_file = format!("127.0.0.1:{}", unused_port());
    let (kafka_ini, sys_ini) = demo.shipped_files(broker_port, &web_in_file);

    let said = demo.run("start_demo.sh", &[&kafka_ini, &sys_ini]);
    // The web app binds the loopback address, which the original calls localhost.
    assert!(
        said.ends_with(&banner(&format!("localhost:{web_port}"))),
        "start_demo.sh did not end with the original's banner and the shop's address:\n{said}"
    );
    assert!(
        said.contains(&format!(
            "Starting the local broker on 127.0.0.1:{broker_port}"
        )),
        "nothing listened on the configured broker port, so start_demo.sh should have started \
         one:\n{said}"
    );
    // run_me_first's log lines reach the script's output (the services' stdout is /dev/null).
    assert_topic_lines(&said, "Done!");
    assert!(
        said.contains("topics are created with replication factor 1"),
        "run_me_first did not say the single local broker holds one replica:\n{said}"
    );
    let names: Vec<String> = demo.pids().into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        ["assemble", "bake", "broker", "delivery", "status", "webapp"],
        "pid/ should hold the broker and the five services"
    );

    // Again while it runs: the topics and the services are kept, and the banner still ends it.
    let processes = demo.pids();
    let said = demo.run("start_demo.sh", &[&kafka_ini, &sys_ini]);
    assert!(
        said.ends_with(&banner(&format!("localhost:{web_port}"))),
        "a second start_demo.sh did not end with the banner:\n{said}"
    );
    assert_topic_lines(&said, "Topic already exists!");
    for service in SERVICES {
        assert!(
            said.contains(&format!("  {service} is already running (pid ")),
            "a second start_demo.sh did not keep {service}:\n{said}"
        );
    }
    assert_eq!(demo.pids(), processes, "the second start started nothing");

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
            said.contains(&stopping(name)),
            "stop_demo.sh did not name pid/{name}.pid:\n{said}"
        );
        assert!(
            !running(*pid),
            "{name} (pid {pid}) still runs after stop_demo.sh"
        );
    }
    // The broker goes last, so the services can still say goodbye to it.
    let broker_at = said.find(&stopping("broker"));
    for service in SERVICES {
        assert!(
            said.find(&stopping(service)) < broker_at,
            "{service} should be stopped before the broker:\n{said}"
        );
    }
    assert!(
        said.ends_with(DEMO_STOPPED),
        "stop_demo.sh did not end with the original's \"Demo stopped\":\n{said}"
    );
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

    // With nothing left to stop it says so the original's way.
    let said = demo.run("stop_demo.sh", &[]);
    assert_eq!(said, DEMO_STOPPED, "stop_demo.sh with nothing running");
    eprintln!("stop_demo.sh took {stop_took:?}");
}

/// The README's "Lose the view, keep the history", step by step on the demo as `start_demo.sh`
/// starts it: the programs that hold the orders view stopped, the view deleted, rebuilt from the
/// topics, the programs started again, and My Orders shows every order with its status.
#[tokio::test(flavor = "multi_thread")]
async fn the_lesson_a_deleted_view_comes_back_from_the_history() {
    let _load = gate::load();
    let demo = DemoFolder::new();
    let broker_port = unused_port();
    let web = format!("127.0.0.1:{}", unused_port());
    let (kafka_ini, sys_ini) = demo.shipped_files(broker_port, &web);
    demo.run("start_demo.sh", &[&kafka_ini, &sys_ini]);
    let base = format!("http://{web}");
    let customer = Customer::login(&base, "Quattro").await.expect("log in");
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(customer.order().await.expect("order a pizza"));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for order in &orders {
        while customer.status(order).await.ok() != Some(999) {
            assert!(Instant::now() < deadline, "order {order} was not delivered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let before = customer.page("/orders").await.expect("My Orders");

    // ./stop_demo.sh status webapp
    let output = Command::new(demo.path().join("stop_demo.sh"))
        .args(["status", "webapp"])
        .current_dir(demo.path())
        .output()
        .expect("stop_demo.sh runs");
    let said = text(&output.stdout);
    assert!(output.status.success(), "{said}{}", text(&output.stderr));
    for name in ["status", "webapp"] {
        assert!(said.contains(&stopping(name)), "{said}");
    }
    let left: Vec<String> = demo.pids().into_iter().map(|(name, _)| name).collect();
    assert_eq!(left, ["assemble", "bake", "broker", "delivery"], "{said}");
    // rm orders.db*
    let mut deleted = 0;
    for entry in fs::read_dir(demo.path()).expect("the demo folder") {
        let path = entry.expect("an entry").path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("orders.db"))
        {
            fs::remove_file(&path).expect("deleted");
            deleted += 1;
        }
    }
    assert!(deleted > 0, "the demo keeps its view in orders.db");
    // target/release/rebuild
    let output = Command::new(demo.path().join("target/release/rebuild"))
        .args([&kafka_ini, &sys_ini])
        .current_dir(demo.path())
        .output()
        .expect("rebuild runs");
    let said = text(&output.stdout);
    assert!(output.status.success(), "{said}{}", text(&output.stderr));
    assert!(said.contains("Rebuilt in"), "{said}");
    // ./start_demo.sh
    demo.run("start_demo.sh", &[&kafka_ini, &sys_ini]);

    let after = customer.page("/orders").await.expect("My Orders");
    for order in &orders {
        assert!(
            after.contains(order.as_str()),
            "{order} is missing:\n{after}"
        );
        assert_eq!(customer.status(order).await.ok(), Some(999), "{order}");
    }
    assert_eq!(
        after, before,
        "My Orders shows what it showed before the view was lost"
    );
    demo.run("stop_demo.sh", &[]);
}

/// Linux's own files: macOS has neither.
const LINUX_ONLY_PATHS: &[&str] = &["/proc/", "/sys/"];

/// GNU's (or Linux's) alone, with why: `(command, option, reason)`. An empty option means the
/// command itself; a one-letter option is found inside a bundle (`-qP`); any other option is
/// found in any word after the command.
const GNU_ONLY: &[(&str, &str, &str)] = &[
    ("sed", "-i", "BSD sed's -i wants a suffix argument"),
    ("sed", "-r", "older BSD seds spell it -E"),
    ("grep", "-P", "BSD grep has no Perl regexes"),
    ("readlink", "-f", "macOS's readlink has no -f before 12.3"),
    ("readlink", "-e", "GNU readlink only"),
    ("readlink", "-m", "GNU readlink only"),
    ("stat", "-c", "BSD stat's format option is -f"),
    ("date", "-d", "BSD date's -d is not a date to read"),
    ("date", "%N", "BSD date has no nanoseconds"),
    ("sort", "-V", "older macOS sorts have no version sort"),
    ("xargs", "-r", "older BSD xargs have no -r"),
    ("base64", "-w", "BSD base64 wraps with -b"),
    ("du", "-b", "BSD du has no -b"),
    ("cp", "-t", "BSD cp has no -t"),
    ("mv", "-t", "BSD mv has no -t"),
    ("ln", "-r", "BSD ln has no -r"),
    ("ps", "-C", "procps only"),
    ("find", "-printf", "GNU find only"),
    ("sleep", "infinity", "GNU sleep only"),
    ("timeout", "", "coreutils only"),
    ("nproc", "", "coreutils only; macOS: sysctl -n hw.ncpu"),
    ("realpath", "", "not on macOS before 13"),
    ("tac", "", "coreutils only"),
    ("shuf", "", "coreutils only"),
    ("stdbuf", "", "coreutils only"),
    ("truncate", "", "coreutils only"),
    ("sha256sum", "", "coreutils only; macOS: shasum -a 256"),
    ("md5sum", "", "coreutils only; macOS: md5"),
    ("setsid", "", "util-linux only"),
    ("flock", "", "util-linux only"),
    ("getent", "", "glibc only"),
    ("pidof", "", "Linux only"),
    ("ip", "", "Linux only"),
    ("ss", "", "Linux only"),
    ("free", "", "Linux only"),
];

/// Tools whose GNU builds take `--long-options` that BSD's lack: none of these may be given one.
const NO_LONG_OPTIONS: &[&str] = &[
    "awk", "basename", "cat", "chmod", "chown", "cp", "cut", "date", "df", "dirname", "du", "find",
    "grep", "head", "id", "kill", "ln", "ls", "mkdir", "mktemp", "mv", "pgrep", "pkill", "ps",
    "readlink", "rm", "rmdir", "sed", "seq", "sleep", "sort", "stat", "tail", "tee", "touch", "tr",
    "uname", "uniq", "wc", "xargs",
];

/// What macOS's bash 3.2 does not have, with the version that brought it.
const BASH_4_ONLY: &[(&str, &str)] = &[
    ("declare -A", "associative arrays: 4.0"),
    ("local -A", "associative arrays: 4.0"),
    ("typeset -A", "associative arrays: 4.0"),
    ("mapfile", "4.0"),
    ("readarray", "4.0"),
    ("coproc", "4.0"),
    ("&>>", "4.0"),
    ("|&", "4.0"),
    (";;&", "4.0"),
    (",,}", "case conversion: 4.0"),
    ("^^}", "case conversion: 4.0"),
    ("globstar", "4.0"),
    ("wait -n", "4.3"),
    ("declare -n", "namerefs: 4.3"),
    ("local -n", "namerefs: 4.3"),
    ("[-1]", "negative subscripts: 4.3"),
    ("[[ -v", "4.2"),
    ("[ -v", "4.2"),
    ("test -v", "4.2"),
    ("@Q}", "4.4"),
    ("EPOCHSECONDS", "5.0"),
    ("EPOCHREALTIME", "5.0"),
];

/// A line without its comment: from a `#` that starts a word.
fn code(line: &str) -> &str {
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        if c == '#' && previous.is_whitespace() {
            return &line[..at];
        }
        previous = c;
    }
    line
}

/// Words that come before a command's name: `if ! nproc`, `x=$(nproc)`, `exec nproc`.
const BEFORE_A_COMMAND: &[&str] = &[
    "!", "if", "then", "do", "else", "elif", "while", "until", "exec", "command", "nohup", "env",
    "time", "sudo",
];

/// The simple commands of a line, each as its name and its arguments, without quotes.
fn commands(line: &str) -> Vec<(&str, Vec<&str>)> {
    code(line)
        .split(['|', ';', '&', '(', ')', '{', '}', '`'])
        .filter_map(|command| {
            let mut words = command
                .split_whitespace()
                .map(|word| word.trim_matches(['"', '\'']))
                .skip_while(|word| BEFORE_A_COMMAND.contains(word) || is_assignment(word));
            let name = words.next()?;
            Some((name.rsplit('/').next().unwrap_or(name), words.collect()))
        })
        .collect()
}

/// `name=value`, which bash reads as an assignment rather than a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Whether the script asks for `command` before it uses it (`if command -v sha256sum …; then`),
/// so a system without it takes another way.
fn guarded(text: &str, command: &str) -> bool {
    text.contains(&format!("command -v {command} "))
}

/// `-qP` holds `-P`.
fn has_option(word: &str, option: &str) -> bool {
    match (option.strip_prefix('-'), word.strip_prefix('-')) {
        (Some(letter), Some(bundle)) if letter.len() == 1 => {
            !bundle.starts_with('-')
                && bundle.chars().all(|c| c.is_ascii_alphabetic())
                && bundle.contains(letter)
        }
        (Some(_), _) => word == option,
        (None, _) => word.contains(option),
    }
}

/// start_demo.sh, stop_demo.sh and every file they source (paths from the workspace, where the
/// scripts run), with their text.
fn demo_scripts() -> Vec<(String, String)> {
    let root = workspace_root();
    let read = |path: &str| {
        fs::read_to_string(root.join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
    };
    let mut scripts: Vec<(String, String)> = ["start_demo.sh", "stop_demo.sh"]
        .into_iter()
        .map(|path| (path.to_owned(), read(path)))
        .collect();
    let mut next = 0;
    while next < scripts.len() {
        let sourced: Vec<String> = scripts[next]
            .1
            .lines()
            .filter_map(|line| {
                let line = code(line).trim_start();
                let rest = line
                    .strip_prefix(". ")
                    .or_else(|| line.strip_prefix("source "))?;
                Some(rest.split_whitespace().next()?.trim_matches('"').to_owned())
            })
            .collect();
        for path in sourced {
            assert!(
                !path.contains('$'),
                "{}: source {path} by a plain path from the workspace, so this test can read it",
                scripts[next].0
            );
            if !scripts.iter().any(|(known, _)| *known == path) {
                let text = read(&path);
                scripts.push((path, text));
            }
        }
        next += 1;
    }
    scripts
}

/// What in `text` macOS would not run, one finding a line.
fn not_portable(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        let code = code(line);
        for path in LINUX_ONLY_PATHS {
            if code.contains(path) {
                found.push(format!("{number}: {path}: Linux only"));
            }
        }
        for (construct, since) in BASH_4_ONLY {
            if code.contains(construct) {
                found.push(format!("{number}: {construct}: bash {since}"));
            }
        }
        for (name, arguments) in commands(line) {
            for (command, option, why) in GNU_ONLY {
                let used = option.is_empty() || arguments.iter().any(|a| has_option(a, option));
                if name == *command && used && !guarded(text, command) {
                    found.push(format!("{number}: {command} {option}: {why}"));
                }
            }
            if NO_LONG_OPTIONS.contains(&name) {
                for argument in &arguments {
                    if argument.starts_with("--") && argument.len() > 2 {
                        found.push(format!("{number}: {name} {argument}: GNU's spelling"));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn the_demo_scripts_use_only_what_linux_and_macos_both_have() {
    let scripts = demo_scripts();
    let findings: Vec<String> = scripts
        .iter()
        .flat_map(|(path, text)| {
            not_portable(text)
                .into_iter()
                .map(move |finding| format!("{path}:{finding}"))
        })
        .collect();
    assert!(
        findings.is_empty(),
        "the demo scripts use what macOS lacks:\n{}",
        findings.join("\n")
    );
}

#[test]
fn the_portability_check_finds_what_it_looks_for() {
    for bad in [
        "grep -qa x /proc/1/cmdline",
        "sort -V",
        "ls -d x | sort -V | tail -n 1",
        "x=$(grep -qP y z)",
        "sed -i 's/a/b/' f",
        "stat -c %Y f",
        "n=$(nproc)",
        "date +%s%N",
        "timeout 5 sleep 9",
        "sha256sum f",
        "ps --no-headers -o pid",
        "declare -A seen",
        "mapfile -t lines < f",
        "echo ${name,,}",
        "wait -n",
        "if ! timeout 3 true; then",
        "for _ in $(seq --separator=, 3); do",
    ] {
        assert!(!not_portable(bad).is_empty(), "{bad:?} passed the check");
    }
    for good in [
        "ps -ww -o args= -p \"$pid\"",
        "state=$(ps -o stat= -p \"$1\" 2>/dev/null) || true",
        "sed -i.bak 's/a/b/' f",
        "cargo build --release --bins --quiet",
        "nohup \"$broker\" broker --listener-url \"tcp://$listen:$port\"",
        "printf '%s\\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5n | tail -n 1",
        "echo \"#######\" # a --comment: sort -V",
        "[ ${#services[@]} -gt 0 ]",
        "echo \"a free port, no timeout\"",
        "x=1 y=2 kill -0 \"$pid\"",
        "if command -v sha256sum >/dev/null; then sha256sum f; else shasum -a 256 f; fi",
    ] {
        assert_eq!(not_portable(good), Vec::<String>::new(), "{good:?}");
    }
}
