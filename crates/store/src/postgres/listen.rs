//! How the PostgreSQL orders store tells the web apps, on any host, that the view changed: the
//! writers `NOTIFY` in the transaction that changes it, which PostgreSQL delivers once it commits,
//! and each web app keeps one connection that `LISTEN`s. When that connection is lost (the
//! database restarts), it connects again and wakes its listener once, so changes committed
//! meanwhile are read too.

use std::str::FromStr;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, Config, NoTls};

use common::runtime::logging::error_chain;

const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

pub(super) fn listen(url: &str, channel: &str) -> watch::Receiver<u64> {
    let (wake, woken) = watch::channel(0u64);
    let (url, channel) = (url.to_owned(), channel.to_owned());
    tokio::spawn(async move {
        loop {
            if let Err(error) = listen_once(&url, &channel, &wake).await {
                tracing::warn!(
                    "Listening for changes of the view: {}; connecting again",
                    error_chain(&error)
                );
            }
            if wake.is_closed() {
                return;
            }
            tokio::time::sleep(RECONNECT_PAUSE).await;
        }
    });
    woken
}

async fn listen_once(
    url: &str,
    channel: &str,
    wake: &watch::Sender<u64>,
) -> Result<(), tokio_postgres::Error> {
    let config = Config::from_str(url)?;
    let (client, mut connection) = config.connect(NoTls).await?;
    let deliver = async {
        let mut messages = futures::stream::poll_fn(|cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            if let AsyncMessage::Notification(_) = message? {
                wake.send_modify(|count| *count += 1);
            }
        }
        Ok(())
    };
    let subscribe = async {
        client.batch_execute(&format!("LISTEN {channel}")).await?;
        // Changes may have been committed while no connection listened.
        wake.send_modify(|count| *count += 1);
        std::future::pending().await
    };
    tokio::select! {
        delivered = deliver => delivered,
        subscribed = subscribe => subscribed,
        () = wake.closed() => Ok(()),
    }
}
