//! The shop floor asks the broker only while someone watches it: its clients connect when the
//! first page opens and are closed once the last has gone, so an idle shop costs the broker
//! nothing for it. Seen from outside, as the web app's TCP connections to the broker.

use std::time::{Duration, Instant};

use common::domain::wiring::ServiceName;
use pizza_tests::loadgen::Customer;
use pizza_tests::{Broker, Shop};

/// The web app's established TCP connections to `port`: its sockets (`/proc/<pid>/fd`) matched
/// by inode against the connection table of its network namespace.
fn connections_to(pid: u32, port: u16) -> usize {
    let Ok(descriptors) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    let sockets: Vec<String> = descriptors
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    let remote = format!(":{port:04X}");
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok())
        .flat_map(|text| text.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
        .filter(|row| {
            // local_address rem_address st ... inode: an established (01) connection to the port.
            let fields: Vec<&str> = row.split_whitespace().collect();
            fields.len() > 9
                && fields[2].ends_with(&remote)
                && fields[3] == "01"
                && sockets.iter().any(|inode| inode == fields[9])
        })
        .count()
}

/// Waits until the count stays one value, which `accept` takes, for `hold`; that value, or
/// `None` after `patience`.
async fn steady(
    count: impl Fn() -> usize,
    accept: impl Fn(usize) -> bool,
    hold: Duration,
    patience: Duration,
) -> Option<usize> {
    let started = Instant::now();
    let mut since: Option<(usize, Instant)> = None;
    while started.elapsed() < patience {
        let now = count();
        match since {
            Some((value, first)) if value == now => {
                if first.elapsed() >= hold {
                    return Some(now);
                }
            }
            _ => since = accept(now).then(|| (now, Instant::now())),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shop_floor_asks_the_broker_only_while_someone_watches() {
    /// Three of the floor's 2 s rounds: long enough that a reading still going on would show.
    const QUIET: Duration = Duration::from_secs(6);
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let web = shop.start(ServiceName::Webapp);
    let base = web.web_address().await;
    let customer = Customer::login(&base, "Ann").await.expect("log in");
    let count = || connections_to(web.pid(), broker.port);

    // The web app's own clients, before anyone opens the floor.
    let idle = steady(count, |_| true, QUIET, Duration::from_secs(30))
        .await
        .expect("the web app's connections to the broker settle");

    let mut floor = customer
        .stream("/shop-floor/events", None)
        .await
        .expect("open the shop floor's stream");
    assert_eq!(floor.status, 200, "the shop floor's stream");
    // The first figures are sent once the first reading is in: the readers are connected.
    let first = tokio::time::timeout(Duration::from_secs(30), floor.next())
        .await
        .expect("the floor's first figures within 30 s")
        .expect("the stream stays open");
    assert!(
        first.json().is_object(),
        "the floor's figures: {}",
        first.data
    );
    let watched = count();
    assert!(
        watched > idle,
        "while the floor is watched its readers hold connections of their own ({watched} now, \
         {idle} before)"
    );

    // The page goes. The web app notices at the stream's next write (a keep-alive within 15 s),
    // the readings stop, and their clients close.
    drop(floor);
    let after = steady(count, |n| n <= idle, QUIET, Duration::from_secs(45)).await;
    assert_eq!(
        after,
        Some(idle),
        "once nobody watches, the floor's connections to the broker are closed and stay closed \
         for {QUIET:?} ({} now, {idle} before it was opened)",
        count()
    );
}
