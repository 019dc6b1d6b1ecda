//! A ksqlDB server's REST API (`POST /ksql`), for the statements of `ksql/`: `run_me_first`
//! submits the streams, then the persistent queries not already running. (The services see the
//! running queries on the cluster itself, `kafka::query_watch`, with or without an endpoint.)

use std::collections::BTreeSet;
use std::time::Duration;

use common::domain::topics::Topic;

use common::settings::{KsqlDbSettings, Topics};

const STREAMS: &str = include_str!("../../../ksql/streams.sql");
const QUERIES: &str = include_str!("../../../ksql/queries.sql");
const MEDIA_TYPE: &str = "application/vnd.ksql.v1+json";
const STAGES: [Topic; 5] = Topic::STAGES;

#[derive(Debug, thiserror::Error)]
pub enum KsqlDbError {
    #[error("ksqlDB at {endpoint} does not answer")]
    Unreachable {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("ksqlDB refused {statement:?} with {status}: {body}")]
    Refused {
        statement: String,
        status: reqwest::StatusCode,
        body: String,
    },
}

pub struct KsqlDb {
    http: reqwest::Client,
    settings: KsqlDbSettings,
}

impl std::fmt::Debug for KsqlDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KsqlDb")
            .field("endpoint", &self.settings.endpoint)
            .finish_non_exhaustive()
    }
}

impl KsqlDb {
    pub fn new(settings: &KsqlDbSettings) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self {
            http,
            settings: settings.clone(),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.settings.endpoint
    }

    /// Creates the streams of `ksql/streams.sql`, then submits each persistent query of
    /// `ksql/queries.sql` that is not running yet. Returns the queries submitted.
    pub async fn submit(&self, topics: &Topics) -> Result<Vec<String>, KsqlDbError> {
        self.run(&for_topics(&without_comments(STREAMS), topics))
            .await?;
        let running = self.feeding(topics).await?;
        let mut submitted = Vec::new();
        for (stage, query) in queries(topics) {
            if !running.contains(&stage) {
                self.run(&query).await?;
                submitted.push(query);
            }
        }
        Ok(submitted)
    }

    /// The stages whose status a running persistent query already copies to the status stream.
    pub async fn feeding(&self, topics: &Topics) -> Result<BTreeSet<Topic>, KsqlDbError> {
        let answer = self.run("SHOW QUERIES;").await?;
        let sink = stream_name(&topics.status);
        let mut stages = BTreeSet::new();
        let listed: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        let queries = listed
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry["queries"].as_array())
            .flatten();
        for query in queries {
            let text = query["queryString"].as_str().unwrap_or_default();
            let running = query["state"]
                .as_str()
                .is_none_or(|state| state.eq_ignore_ascii_case("RUNNING"));
            let Some((into, from)) = insert_into(text) else {
                continue;
            };
            if !running || into != sink {
                continue;
            }
            stages.extend(
                STAGES
                    .into_iter()
                    .filter(|stage| stream_name(topics.name(*stage)) == from),
            );
        }
        Ok(stages)
    }

    async fn run(&self, statements: &str) -> Result<String, KsqlDbError> {
        let url = format!("{}/ksql", self.settings.endpoint.trim_end_matches('/'));
        // Persistent queries read their topics from the beginning, as the original's did, so
        // orders placed before the queries started still reach the status stream.
        let body = serde_json::json!({
            "ksql": statements,
            "streamsProperties": {"ksql.streams.auto.offset.reset": "earliest"},
        });
        let mut request = self
            .http
            .post(&url)
            .header(reqwest::header::ACCEPT, MEDIA_TYPE)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("{MEDIA_TYPE}; charset=utf-8"),
            )
            .body(body.to_string());
        if let Some(username) = &self.settings.username {
            request = request.basic_auth(username, self.settings.password.as_ref());
        }
        let unreachable = |source| KsqlDbError::Unreachable {
            endpoint: self.settings.endpoint.clone(),
            source,
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(KsqlDbError::Refused {
                statement: statements.chars().take(80).collect(),
                status,
                body: text,
            });
        }
        Ok(text)
    }
}

/// ksqlDB's name for the stream over a topic, as the original derives it: `pizza-baked` is
/// `PIZZA_BAKED`.
pub fn stream_name(topic: &str) -> String {
    topic.replace('-', "_").to_uppercase()
}

/// Each stage's persistent query, with the configured topic names.
pub fn queries(topics: &Topics) -> Vec<(Topic, String)> {
    let queries = for_topics(&without_comments(QUERIES), topics);
    queries
        .split_inclusive(';')
        .map(str::trim)
        .filter_map(|query| {
            let (_, from) = insert_into(query)?;
            let stage = STAGES
                .into_iter()
                .find(|stage| stream_name(topics.name(*stage)) == from)?;
            Some((stage, query.to_owned()))
        })
        .collect()
}

/// `ksql/` names the default topics; a configuration that renames them gets its own names.
fn for_topics(sql: &str, topics: &Topics) -> String {
    let mut sql = sql.to_owned();
    for topic in STAGES.into_iter().chain([Topic::Status]) {
        let (default, configured) = (topic.default_name(), topics.name(topic));
        sql = sql
            .replace(&format!("'{default}'"), &format!("'{configured}'"))
            .replace(&stream_name(default), &stream_name(configured));
    }
    sql
}

fn without_comments(sql: &str) -> String {
    sql.lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `INSERT INTO PIZZA_STATUS SELECT … FROM PIZZA_BAKED EMIT CHANGES;` → the sink and the source.
fn insert_into(statement: &str) -> Option<(String, String)> {
    let upper = statement.to_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let into = words
        .windows(3)
        .find(|w| w[0] == "INSERT" && w[1] == "INTO")?[2];
    let from = words.windows(2).find(|w| w[0] == "FROM")?[1];
    Some((into.to_owned(), from.trim_end_matches(';').to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics() -> Topics {
        Topics {
            ordered: "pizza-ordered".into(),
            assembled: "pizza-assembled".into(),
            baked: "pizza-baked".into(),
            delivered: "pizza-delivered".into(),
            pending: "pizza-pending".into(),
            status: "pizza-status".into(),
            dead_letter: "pizza-dead-letter".into(),
        }
    }

    #[test]
    fn there_is_one_query_per_stage() {
        let stages: Vec<Topic> = queries(&topics()).into_iter().map(|(s, _)| s).collect();
        assert_eq!(stages.len(), STAGES.len());
        for stage in STAGES {
            assert!(stages.contains(&stage), "{stage:?}");
        }
    }

    #[test]
    fn streams_cover_every_topic() {
        for stream in [
            "PIZZA_ORDERED",
            "PIZZA_ASSEMBLED",
            "PIZZA_BAKED",
            "PIZZA_DELIVERED",
            "PIZZA_PENDING",
            "PIZZA_STATUS",
        ] {
            assert!(
                STREAMS.contains(&format!("CREATE STREAM IF NOT EXISTS {stream} (")),
                "{stream}"
            );
        }
    }

    #[test]
    fn renamed_topics_are_written_into_the_statements() {
        let mut renamed = topics();
        renamed.baked = "shop-baked".into();
        renamed.status = "shop-status".into();
        let streams = for_topics(STREAMS, &renamed);
        assert!(streams.contains("KAFKA_TOPIC = 'shop-baked'"), "{streams}");
        assert!(streams.contains("CREATE STREAM IF NOT EXISTS SHOP_BAKED ("));
        let baked = queries(&renamed)
            .into_iter()
            .find(|(stage, _)| *stage == Topic::Baked)
            .map(|(_, q)| q);
        assert_eq!(
            baked.as_deref(),
            Some("INSERT INTO SHOP_STATUS SELECT order_id, status, timestamp FROM SHOP_BAKED EMIT CHANGES;")
        );
    }

    #[test]
    fn finds_sink_and_source() {
        assert_eq!(
            insert_into("insert into PIZZA_STATUS select a from PIZZA_BAKED emit changes;"),
            Some(("PIZZA_STATUS".into(), "PIZZA_BAKED".into()))
        );
        assert_eq!(insert_into("SHOW QUERIES;"), None);
    }
}
