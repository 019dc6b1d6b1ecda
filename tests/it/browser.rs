//! A person's path through the shop in a real browser: headless Chromium, driven by the scripts
//! in `tests/browser/`, against the real services at a tenth of real time.
//! Needs Node.js, Chromium (/usr/bin/chromium or $CHROMIUM) and `npm ci` in tests/browser/.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::domain::wiring::ServiceName;
use pizza_tests::binaries::workspace_root;
use pizza_tests::{Broker, Shop};

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_orders_a_pizza_and_watches_it_arrive() {
    let script_dir = workspace_root().join("tests/browser");
    assert!(
        script_dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci` in tests/browser first (tests/run.sh does)"
    );
    let broker = Broker::start();
    // A tenth of real time: an order takes two to four seconds, long enough to see it change.
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "0.1")]).await;
    let _services = shop.start_pipeline();
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;

    let shots = workspace_root().join("target/screenshots");
    let output = Command::new("node")
        .arg("order_pizza.mjs")
        .arg(&base)
        .arg(&shots)
        .current_dir(&script_dir)
        .output()
        .expect("node runs (install Node.js)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("delivered"), "{stdout}");
}

/// The workshop's lesson on the shop floor page: stop bake, order, see the pizzas wait at the
/// oven and bake drawn down; start bake, see the queue drain and the orders delivered. The
/// script (`tests/browser/shop_floor.mjs`) asks for bake to be stopped and started; this test
/// does it and answers.
#[tokio::test(flavor = "multi_thread")]
async fn the_shop_floor_shows_pizzas_waiting_at_a_stopped_oven_and_draining_after() {
    let script_dir = workspace_root().join("tests/browser");
    assert!(
        script_dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci` in tests/browser first (tests/run.sh does)"
    );
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "0.1")]).await;
    let _others: Vec<_> = [
        ServiceName::Status,
        ServiceName::Delivery,
        ServiceName::Assemble,
    ]
    .into_iter()
    .map(|s| shop.start(s))
    .collect();
    let mut bake = shop.start(ServiceName::Bake);
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;

    let shots = workspace_root().join("target/screenshots");
    let mut node = Command::new("node")
        .arg("shop_floor.mjs")
        .arg(&base)
        .arg(&shots)
        .current_dir(&script_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (install Node.js)");
    let mut answers = node.stdin.take().expect("stdin piped");
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = node.stdout.take().expect("stdout piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut said = Vec::new();
    let mut stopped = false;
    // The lesson takes about a minute; a script stuck on a wait ends with its own timeout.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let line = match tokio::time::timeout_at(deadline, lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(_) => {
                let _ = node.kill();
                panic!("the script did not finish:\n{}", said.join("\n"));
            }
        };
        println!("{line}");
        match line.as_str() {
            "stop bake" => {
                let (status, _) = bake.stop().await;
                assert!(status.success(), "bake stops cleanly: {status}");
                stopped = true;
                writeln!(answers, "bake stopped").expect("answer");
            }
            "start bake" => {
                bake = shop.start(ServiceName::Bake);
                writeln!(answers, "bake started").expect("answer");
            }
            _ => {}
        }
        said.push(line);
    }
    let output = node.wait_with_output().expect("node ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said = said.join("\n");
    assert!(
        output.status.success(),
        "shop floor test failed:\n{said}\n{stderr}"
    );
    assert!(stopped, "the script asked for bake to be stopped");
    assert!(said.contains("ok: 3 orders waited at the oven"), "{said}");
}
