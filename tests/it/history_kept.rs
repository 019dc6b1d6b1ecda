//! The topics are the shop's history, which `rebuild` reads from the beginning: `run_me_first`
//! creates the six event topics with `retention.ms = -1` and the dead-letter topic with the
//! cluster's retention, and after the original's lines says in one line how long the history is
//! kept, naming the shortest retention and its topics when that is not the shop's choice.

use std::path::PathBuf;
use std::process::Command;

use common::domain::topics::Topic;
use common::kafka::{keeps_history, RETENTION_MS};
use common::settings::SysSettings;
use pizza_tests::binaries::{binary, workspace_root};
use pizza_tests::ini::set_key;
use pizza_tests::Broker;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use tempfile::TempDir;

/// The shipped configurations, pointed at `broker`, in a folder of their own (run_me_first
/// writes its log there).
struct Setup {
    folder: TempDir,
    kafka_ini: PathBuf,
    sys_ini: PathBuf,
    sys: SysSettings,
}

impl Setup {
    fn new(broker: &Broker) -> Self {
        let folder = tempfile::Builder::new()
            .prefix("run-me-first-")
            .tempdir()
            .expect("temp dir");
        let shipped = std::fs::read_to_string(workspace_root().join("config_sys/default.ini"))
            .expect("the shipped default.ini");
        // One broker holds one replica: without this a warning about it would sit among the
        // lines this test counts.
        let sys_text = set_key(&shipped, "kafka-topic-config", "replication_factor", "1");
        let kafka_ini = folder.path().join("kafka.ini");
        let sys_ini = folder.path().join("sys.ini");
        std::fs::write(&kafka_ini, broker.kafka_ini()).expect("write kafka.ini");
        std::fs::write(&sys_ini, sys_text).expect("write sys.ini");
        let sys = SysSettings::load(&sys_ini).expect("sys settings");
        Self {
            folder,
            kafka_ini,
            sys_ini,
            sys,
        }
    }

    fn name(&self, topic: Topic) -> &str {
        self.sys.topics.name(topic)
    }

    /// What run_me_first wrote, after checking it succeeded.
    fn run_me_first(&self) -> String {
        let output = Command::new(binary("run_me_first"))
            .arg(&self.kafka_ini)
            .arg(&self.sys_ini)
            .current_dir(self.folder.path())
            .output()
            .expect("runs");
        let said = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        said
    }
}

fn admin(broker: &Broker) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .expect("admin client")
}

/// Each topic's `retention.ms` as the broker describes it (`None`: not in its answer).
async fn retention_ms(broker: &Broker, topics: &[&str]) -> Vec<Option<String>> {
    let resources: Vec<ResourceSpecifier<'_>> =
        topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    admin(broker)
        .describe_configs(resources.iter(), &AdminOptions::new())
        .await
        .expect("the broker answers DescribeConfigs")
        .into_iter()
        .zip(topics)
        .map(|(answer, topic)| {
            answer
                .unwrap_or_else(|code| panic!("describing {topic}: {code}"))
                .get(RETENTION_MS)
                .and_then(|entry| entry.value.clone())
        })
        .collect()
}

/// run_me_first's lines about retention, each with its level.
fn retention_lines(said: &str) -> Vec<&str> {
    said.lines()
        .filter(|line| line.contains("retention") || line.contains("the shop's history"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_cluster_keeps_the_history_for_good_and_the_dead_letters_for_its_own_time() {
    let broker = Broker::start();
    let setup = Setup::new(&broker);
    let said = setup.run_me_first();

    let names: Vec<&str> = Topic::ALL.iter().map(|t| setup.name(*t)).collect();
    let retentions = retention_ms(&broker, &names).await;
    for ((topic, name), retention) in Topic::ALL.iter().zip(&names).zip(&retentions) {
        if keeps_history(*topic) {
            assert_eq!(retention.as_deref(), Some("-1"), "{name}");
        } else {
            assert_ne!(retention.as_deref(), Some("-1"), "{name}");
        }
    }
    let lines = retention_lines(&said);
    assert_eq!(lines.len(), 1, "one line about retention:\n{said}");
    assert!(
        lines[0].starts_with("(run_me_first) INFO ")
            && lines[0].ends_with(
                " - The topics keep the shop's history for good (retention.ms = -1): `rebuild` \
                 can build the views again from it"
            ),
        "{said}"
    );
    // It follows the original's lines, which stay as they were.
    let lines: Vec<&str> = said.lines().collect();
    let kept = lines
        .iter()
        .position(|line| line.contains("for good"))
        .expect("the line");
    assert!(
        lines[..kept]
            .last()
            .is_some_and(|line| line.ends_with(" - Done!")),
        "{said}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.ends_with(" - Done!"))
            .count(),
        Topic::ALL.len(),
        "{said}"
    );

    // Again: the topics exist, and their retention is read back from the cluster.
    let said = setup.run_me_first();
    assert_eq!(
        said.matches("Topic already exists!").count(),
        Topic::ALL.len(),
        "{said}"
    );
    let lines = retention_lines(&said);
    assert_eq!(lines.len(), 1, "{said}");
    assert!(
        lines[0].contains(" INFO ") && lines[0].contains("for good"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn topics_that_keep_less_are_named_once_with_the_shortest_retention() {
    let broker = Broker::start();
    let setup = Setup::new(&broker);
    // Made beforehand, as on a cluster someone set up by hand: two keep an hour, one a week, one
    // says nothing (the local broker then lists no retention.ms for it); run_me_first creates
    // the rest.
    let hour = [Topic::Ordered, Topic::Status];
    let (one_hour, one_week) = ("3600000", "604800000");
    let mut made: Vec<NewTopic<'_>> = hour
        .iter()
        .map(|t| {
            NewTopic::new(setup.name(*t), 1, TopicReplication::Fixed(1)).set(RETENTION_MS, one_hour)
        })
        .collect();
    made.push(
        NewTopic::new(setup.name(Topic::Delivered), 1, TopicReplication::Fixed(1))
            .set(RETENTION_MS, one_week),
    );
    made.push(NewTopic::new(
        setup.name(Topic::Baked),
        1,
        TopicReplication::Fixed(1),
    ));
    let created = admin(&broker)
        .create_topics(made.iter(), &AdminOptions::new())
        .await
        .expect("asked");
    assert!(created.iter().all(Result::is_ok), "{created:?}");

    let said = setup.run_me_first();
    assert_eq!(said.matches("Topic already exists!").count(), 4, "{said}");
    let lines = retention_lines(&said);
    assert_eq!(lines.len(), 1, "one line about retention:\n{said}");
    let line = lines[0];
    assert!(line.starts_with("(run_me_first) WARNING "), "{said}");
    assert!(
        line.contains(
            " - pizza-ordered, pizza-status keep events for 1 hour (retention.ms = 3600000, set on \
             the topic): a rebuild after that cannot bring back older orders"
        ),
        "{said}"
    );
    assert!(
        line.ends_with("; pizza-baked keeps them for the cluster's default, which it does not say"),
        "{said}"
    );
    assert!(
        !line.contains("pizza-delivered"),
        "the week is not the shortest: {said}"
    );

    // run_me_first leaves existing topics as they are.
    let kept = retention_ms(
        &broker,
        &[
            setup.name(Topic::Ordered),
            setup.name(Topic::Status),
            setup.name(Topic::Delivered),
            setup.name(Topic::Assembled),
        ],
    )
    .await;
    assert_eq!(
        kept,
        [
            Some(one_hour.to_owned()),
            Some(one_hour.to_owned()),
            Some(one_week.to_owned()),
            Some("-1".to_owned())
        ]
    );
}
