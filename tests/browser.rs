//! A person's path through the shop in a real browser: headless Chromium, driven by
//! `tests/browser/order_pizza.mjs`, against the real services at time_scale 0.
//! Needs Node.js, Chromium (/usr/bin/chromium or $CHROMIUM) and `npm ci` in tests/browser/.

use std::process::Command;

use common::services::ServiceName;
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
