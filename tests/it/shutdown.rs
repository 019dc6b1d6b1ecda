//! Stopping a service at awkward moments: mid-delivery, with the broker gone, and impatiently
//! (a second signal while a hung broker holds the first one up).

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::domain::events::now_ms;
use common::domain::status::StatusAt;
use common::domain::wiring::ServiceName;
use pizza_tests::shop::ordered;
use pizza_tests::topic_reader::{read_all, read_until};
use pizza_tests::{Broker, Service, Shop};

const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_delivery_exits_zero_and_the_next_instance_delivers() {
    let broker = Broker::start();
    // Real time: a route takes 5 to 14 s, so SIGTERM arrives on the road.
    let shop = Shop::open(&broker, &[("simulation", "time_scale", "1")]).await;
    let mut delivery = shop.start(ServiceName::Delivery);
    let producer = shop.producer().await;
    let id = "0de11e57";
    let outbound = producer.producer();
    outbound
        .send_json(&shop.sys.topics.ordered, id, &ordered(id))
        .await
        .expect("ordered");
    let baked = StatusAt {
        status: 300,
        timestamp: now_ms(),
    };
    outbound
        .send_json(&shop.sys.topics.baked, id, &baked)
        .await
        .expect("baked");
    delivery
        .wait_for_log(&format!("Deliverying order '{id}'"), PATIENCE)
        .await;

    let (status, took) = delivery.terminate();
    assert!(status.success(), "exit {status}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(!delivery.log().contains(&format!("Order '{id}' delivered")));
    assert!(read_all(&shop.kafka, &shop.sys.topics.delivered).is_empty());

    // The claim was released and the notice not committed: the next instance delivers at once.
    let mut again = shop.start(ServiceName::Delivery);
    again
        .wait_for_log(&format!("Order '{id}' delivered to customer_id"), PATIENCE)
        .await;
    // The line comes before the event is produced: wait for the event itself, then stop the
    // only producer of the topic, so what is there is all there will be.
    read_until(&shop.kafka, &shop.sys.topics.delivered, PATIENCE, |r| {
        !r.is_empty()
    });
    assert!(again.terminate().0.success());
    assert_eq!(
        read_all(&shop.kafka, &shop.sys.topics.delivered).len(),
        1,
        "one delivered event"
    );
}

/// A kitchen service that holds its partitions, on a broker that has just gone away.
async fn assemble_without_its_broker() -> (Broker, Shop, Service) {
    let mut broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let assemble = shop.start(ServiceName::Assemble);
    assemble
        .wait_for_log("Partitions assigned: pizza-ordered", PATIENCE)
        .await;
    broker.stop();
    // Until its clients have noticed the connections are gone: librdkafka's log, in the
    // service's.
    assemble
        .wait_for_log("Connection refused", Duration::from_secs(20))
        .await;
    (broker, shop, assemble)
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_the_broker_is_down_exits_zero() {
    let (_broker, _shop, mut assemble) = assemble_without_its_broker().await;
    let (status, took) = assemble.terminate();
    assert!(status.success(), "exit {status}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(assemble.log().contains("Graceful shutdown completed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_exits_at_once() {
    let broker = Broker::start();
    let shop = Shop::open(&broker, &[]).await;
    let mut assemble = shop.start(ServiceName::Assemble);
    assemble
        .wait_for_log("Partitions assigned: pizza-ordered", PATIENCE)
        .await;
    // A broker that hangs (connections open, no answers) holds the graceful shutdown up.
    let _ = std::process::Command::new("kill")
        .args(["-STOP", &broker.pid().to_string()])
        .status();
    assemble.signal("TERM");
    // The second signal once the first has started the shutdown.
    assemble
        .wait_for_log("Received signal 15, stopping", Duration::from_secs(5))
        .await;
    assemble.signal("INT");
    let (status, took) = assemble.wait_for_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(130), "{status:?} {:?}", status.signal());
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(assemble
        .log()
        .contains("Second signal: exiting without finishing the graceful shutdown"));
}
