//! Submits the statements of `ksql/` to a ksqlDB server (`POST /ksql`), as the original's
//! `run_me_first.py` did. The streams are created with IF NOT EXISTS; a persistent query is
//! submitted only when no running query already reads from the same stream, so running this
//! again does not start duplicates.

use anyhow::{bail, Context};
use common::settings::KsqlDbSettings;

const STREAMS: &str = include_str!("../../../ksql/streams.sql");
const QUERIES: &str = include_str!("../../../ksql/queries.sql");
const MEDIA_TYPE: &str = "application/vnd.ksql.v1+json";

pub async fn submit(settings: &KsqlDbSettings) -> anyhow::Result<()> {
    let client = KsqlDb {
        http: reqwest::Client::new(),
        settings,
    };
    client
        .run(&without_comments(STREAMS))
        .await
        .context("creating the ksqlDB streams")?;
    tracing::info!("ksqlDB streams created (or already there)");

    let running = client
        .run("SHOW QUERIES;")
        .await
        .context("listing ksqlDB queries")?
        .to_uppercase();
    for statement in without_comments(QUERIES)
        .split_inclusive(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let source = source_stream(statement).unwrap_or_default();
        if !source.is_empty() && running.contains(&format!("FROM {source} ")) {
            tracing::info!("ksqlDB query reading {source} already runs");
            continue;
        }
        client
            .run(statement)
            .await
            .with_context(|| format!("submitting {statement}"))?;
        tracing::info!("ksqlDB query submitted: {statement}");
    }
    Ok(())
}

struct KsqlDb<'a> {
    http: reqwest::Client,
    settings: &'a KsqlDbSettings,
}

impl KsqlDb<'_> {
    async fn run(&self, statements: &str) -> anyhow::Result<String> {
        let url = format!("{}/ksql", self.settings.endpoint.trim_end_matches('/'));
        let body = serde_json::json!({ "ksql": statements, "streamsProperties": {} });
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
        let response = request
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("ksqlDB answered {status}: {text}");
        }
        Ok(text)
    }
}

fn without_comments(sql: &str) -> String {
    sql.lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `... FROM PIZZA_BAKED EMIT CHANGES;` → `PIZZA_BAKED`.
fn source_stream(statement: &str) -> Option<String> {
    let upper = statement.to_uppercase();
    let after = upper.split(" FROM ").nth(1)?;
    after
        .split_whitespace()
        .next()
        .map(|s| s.trim_end_matches(';').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_source_of_each_query() {
        let queries: Vec<_> = without_comments(QUERIES)
            .split_inclusive(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .filter_map(source_stream)
            .collect();
        assert_eq!(
            queries,
            [
                "PIZZA_ORDERED",
                "PIZZA_ASSEMBLED",
                "PIZZA_BAKED",
                "PIZZA_DELIVERED",
                "PIZZA_PENDING"
            ]
        );
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
}
