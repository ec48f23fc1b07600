//! A confirmed, reconnecting publisher.
//!
//! A supervisor task owns the connection: it connects, declares the topology, opens a
//! few channels in confirm mode and hands them to publishers as a `Link`. When the
//! connection fails — the broker closes it, heartbeats stop, a publish errors or its
//! confirm does not come in time — the link is withdrawn at once (publishers then fail
//! fast with `NotConnected` instead of waiting) and the supervisor reconnects with
//! exponential backoff.
//!
//! A publish succeeds only on a broker ack for a routed message. Every other outcome is
//! an error, and the caller cannot know whether the message was stored: consumers must
//! deduplicate.

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_lite::StreamExt;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, Event, options::ConfirmSelectOptions,
};
use prometheus_client::metrics::counter::Counter;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Topology, connection::ConnectError};
use crate::{admin::HealthFlag, error::PublishError, tls::Endpoint, trace::Trace};

#[derive(Debug, Clone)]
pub struct PublisherOptions {
    /// Shown in the broker's management UI.
    pub connection_name: String,
    /// How long a publish may wait for its confirm before it counts as failed.
    pub confirm_timeout: Duration,
    /// Publishing channels. Publishes are spread round-robin; one channel already takes
    /// many concurrent publishes, a few spread the confirm bookkeeping.
    pub channels: usize,
    /// Counts connections replaced after a failure.
    pub reconnects: Counter,
}

impl Default for PublisherOptions {
    fn default() -> Self {
        PublisherOptions {
            connection_name: "cita-publisher".into(),
            confirm_timeout: Duration::from_secs(5),
            channels: 1,
            reconnects: Counter::default(),
        }
    }
}

/// The live connection's publishing channels.
struct Link {
    connection: Connection,
    channels: Vec<Channel>,
    next: AtomicUsize,
    /// Cancelled by the first publisher that sees this link fail.
    broken: CancellationToken,
}

impl Link {
    fn channel(&self) -> &Channel {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len();
        &self.channels[i]
    }
}

pub struct Publisher {
    // A std RwLock: held only to clone an Arc, never across an await.
    link: RwLock<Option<Arc<Link>>>,
    confirm_timeout: Duration,
    stop: CancellationToken,
}

impl Publisher {
    /// Starts the supervisor, which keeps a connection to `url` until [`Publisher::close`].
    /// `ready` reflects whether a connection is up.
    pub fn start(
        url: impl Into<Endpoint>,
        topology: Topology,
        options: PublisherOptions,
        ready: HealthFlag,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let publisher = Arc::new(Publisher {
            link: RwLock::new(None),
            confirm_timeout: options.confirm_timeout,
            stop: CancellationToken::new(),
        });
        let url = url.into();
        let task = tokio::spawn(supervise(publisher.clone(), url, topology, options, ready));
        (publisher, task)
    }

    /// Publishes a send command to `outbound.send`, confirmed like [`Publisher::publish`].
    pub async fn send(
        &self,
        topology: &Topology,
        command: &crate::contracts::outbound::Command,
    ) -> Result<(), PublishError> {
        let body = serde_json::to_vec(command).expect("a send command serializes to JSON");
        self.publish(
            &topology.name(super::topology::CITA_COMMANDS),
            super::topology::OUTBOUND_SEND,
            &body,
            BasicProperties::default().with_content_type("application/json".into()),
        )
        .await
    }

    /// Publishes `body` persistently with the mandatory flag and waits for the broker's
    /// confirm, for at most the confirm timeout. A message without a timestamp gets the
    /// current time (consumers measure how long messages wait with it).
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let link = self.current().ok_or(PublishError::NotConnected)?;
        let channel = link.channel();
        let mut properties = properties.with_delivery_mode(2);
        if properties.timestamp().is_none() {
            let now = jiff::Timestamp::now().as_second().max(0) as u64;
            properties = properties.with_timestamp(now);
        }
        properties = with_trace(properties);
        let outcome = tokio::time::timeout(
            self.confirm_timeout,
            super::publish_confirmed(channel, exchange, routing_key, body, properties),
        )
        .await;

        match outcome {
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Ack(Some(returned)))) => Err(PublishError::Unroutable {
                code: returned.reply_code,
                text: returned.reply_text.to_string(),
            }),
            Ok(Ok(Confirmation::Nack(_))) => Err(PublishError::Nacked),
            // Every channel is put in confirm mode before it is handed out, so a missing
            // confirm means the channel is not what we think it is: replace it.
            Ok(Ok(Confirmation::NotRequested)) => {
                link.broken.cancel();
                Err(PublishError::ConfirmsOff)
            }
            Ok(Err(error)) => {
                link.broken.cancel();
                Err(PublishError::Channel(error))
            }
            Err(_elapsed) => {
                // A connection that cannot confirm in time is stalled or blocked;
                // a new one is the fastest way back.
                link.broken.cancel();
                Err(PublishError::Timeout(self.confirm_timeout))
            }
        }
    }

    /// Stops the supervisor and closes the connection. Call it after the last publish
    /// (for the ingress: after the HTTP server drained).
    pub fn close(&self) {
        self.stop.cancel();
    }

    fn current(&self) -> Option<Arc<Link>> {
        self.link.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_link(&self, link: Option<Arc<Link>>) {
        *self.link.write().unwrap_or_else(|e| e.into_inner()) = link;
    }
}

async fn supervise(
    publisher: Arc<Publisher>,
    url: Endpoint,
    topology: Topology,
    options: PublisherOptions,
    ready: HealthFlag,
) {
    const MIN_BACKOFF: Duration = Duration::from_millis(100);
    const MAX_BACKOFF: Duration = Duration::from_secs(5);
    let mut backoff = MIN_BACKOFF;
    let mut connected_before = false;

    while !publisher.stop.is_cancelled() {
        let connected = tokio::select! {
            connected = connect(&url, &topology, &options) => connected,
            () = publisher.stop.cancelled() => break,
        };
        let (link, mut events) = match connected {
            Ok(connected) => connected,
            Err(error) => {
                tracing::warn!(error = %error, retry_in = ?backoff, "cannot connect to the broker");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = publisher.stop.cancelled() => break,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = MIN_BACKOFF;
        if connected_before {
            options.reconnects.inc();
        }
        connected_before = true;
        publisher.set_link(Some(link.clone()));
        ready.set(true);
        tracing::info!(channels = link.channels.len(), "connected to the broker");

        // Wait for the link to fail (or for the stop), watching broker events meanwhile.
        let reason = loop {
            tokio::select! {
                () = link.broken.cancelled() => break "a publish failed",
                () = publisher.stop.cancelled() => break "shutting down",
                event = events.next() => match event {
                    Some(Event::Error(error)) => {
                        tracing::warn!(%error, "broker connection failed");
                        break "the connection failed";
                    }
                    Some(Event::ConnectionBlocked(why)) => {
                        tracing::warn!(reason = %why, "the broker blocked publishing");
                    }
                    Some(Event::ConnectionUnblocked) => tracing::info!("the broker unblocked publishing"),
                    Some(_) => {}
                    None => break "the connection ended",
                },
            }
        };
        publisher.set_link(None);
        ready.set(false);
        if publisher.stop.is_cancelled() {
            tracing::info!("closing the broker connection");
        } else {
            tracing::warn!(reason, "reconnecting to the broker");
        }
        // Closing a dead connection can hang until the socket times out; don't wait long.
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            link.connection.close(200, "bye".into()),
        )
        .await;
    }
}

/// Adds the current work's trace to a message's headers (see [`crate::trace`]).
pub(super) fn with_trace(properties: BasicProperties) -> BasicProperties {
    if Trace::current().is_none() {
        return properties;
    }
    let mut headers = properties.headers().clone().unwrap_or_default();
    Trace::propagate(&mut headers);
    properties.with_headers(headers)
}

type Events = std::pin::Pin<Box<dyn futures_lite::Stream<Item = Event> + Send>>;

async fn connect(
    url: &Endpoint,
    topology: &Topology,
    options: &PublisherOptions,
) -> Result<(Arc<Link>, Events), ConnectError> {
    let connection = super::connection::connect(url, &options.connection_name, topology).await?;
    // Subscribe before the link is handed out, so no failure after that goes unseen.
    let events: Events = Box::pin(connection.events_listener());

    let mut channels = Vec::with_capacity(options.channels.max(1));
    for _ in 0..options.channels.max(1) {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channels.push(channel);
    }
    let link = Arc::new(Link {
        connection,
        channels,
        next: AtomicUsize::new(0),
        broken: CancellationToken::new(),
    });
    Ok((link, events))
}
