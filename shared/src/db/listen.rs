//! `LISTEN` on a connection of its own: PostgreSQL's notifications, which are delivered
//! when the notifying transaction commits and never before.

use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, Connection, tls::TlsStream};

use super::{DbError, connect};
use crate::tls::Endpoint;

/// A listening connection. [`Listening::next`] yields each notification's payload, and
/// `None` once the connection is gone (the caller listens again, knowing it may have
/// missed some).
pub struct Listening {
    payloads: mpsc::UnboundedReceiver<String>,
    /// Keeps the session, and with it the `LISTEN`, open.
    _client: Client,
}

impl Listening {
    pub async fn next(&mut self) -> Option<String> {
        self.payloads.recv().await
    }
}

/// Connects to `url` and listens on `channel` (a plain identifier). Once this returns,
/// every later commit that notifies `channel` reaches [`Listening::next`].
pub async fn listen(url: &Endpoint, channel: &str) -> Result<Listening, DbError> {
    let (config, connector) = connect::prepare(url)?;
    let (sender, payloads) = mpsc::unbounded_channel();
    let client = match connector {
        connect::Connector::Plain => {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(forward(connection, sender));
            client
        }
        connect::Connector::Tls(tls) => {
            let (client, connection) = config.connect(tls).await?;
            tokio::spawn(forward(connection, sender));
            client
        }
    };
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    Ok(Listening {
        payloads,
        _client: client,
    })
}

/// Drives the connection, passing notifications on until it ends or nobody listens.
async fn forward<S, T>(mut connection: Connection<S, T>, sender: mpsc::UnboundedSender<String>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: TlsStream + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(notification))) => {
                if sender.send(notification.payload().to_owned()).is_err() {
                    return;
                }
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                tracing::warn!(%error, "the listening PostgreSQL connection failed");
                return;
            }
            None => return,
        }
    }
}
