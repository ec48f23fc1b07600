//! Live events: each replica consumes `cita.events` on a queue of its own and hands every
//! event to the Server-Sent Events streams of its organization. A stream that reconnects
//! with `Last-Event-ID` first gets what it missed from the outbox (events keep their
//! outbox `seq` as their id), then the live ones after it.
//!
//! The queue is exclusive and unacknowledged: what a replica misses while disconnected
//! from the broker is not lost, it is in the outbox for the next resume.

use std::{sync::Arc, time::Duration};

use futures_lite::StreamExt;
use lapin::{
    options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cita_shared::{
    amqp::{Topology, connection, topology::CITA_EVENTS},
    outbox::SEQ_HEADER,
    tls::Endpoint,
};

/// Events a slow stream may fall behind before it is ended (and resumes by id).
const BACKLOG: usize = 1024;

/// One event of `cita.events`, as a stream sends it.
#[derive(Debug)]
pub struct LiveEvent {
    pub organization_id: Uuid,
    pub seq: i64,
    /// The routing key: `appointment.booked`, `conversation.handed_off`, …
    pub kind: String,
    /// The event's JSON, as published.
    pub data: String,
    /// The staff members an appointment event concerns (its staff, and the one it moved
    /// from); empty for the others.
    pub staff: Vec<Uuid>,
}

impl LiveEvent {
    /// Reads an event from its JSON; `None` for something that is not one.
    pub fn parse(seq: i64, kind: &str, data: String) -> Option<Self> {
        let json: Value = serde_json::from_str(&data).ok()?;
        let organization_id = json["organization_id"].as_str()?.parse().ok()?;
        let staff = [&json["appointment"]["staff_id"], &json["previous_staff_id"]]
            .into_iter()
            .filter_map(|id| id.as_str()?.parse().ok())
            .collect();
        Some(LiveEvent {
            organization_id,
            seq,
            kind: kind.to_owned(),
            data,
            staff,
        })
    }
}

/// The events of this replica, for every stream it serves.
#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<Arc<LiveEvent>>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Live {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.sender.subscribe()
    }

    fn send(&self, event: LiveEvent) {
        // No stream open is not an error: nobody is watching.
        let _ = self.sender.send(Arc::new(event));
    }
}

/// Consumes `cita.events` until `shutdown`, reconnecting after a failure. `bound` turns
/// true once the queue is bound, so the caller may wait for it before serving.
pub async fn feed(
    url: Endpoint,
    topology: Topology,
    live: Live,
    bound: watch::Sender<bool>,
    shutdown: CancellationToken,
) {
    let mut pause = Duration::from_millis(200);
    loop {
        let run = tokio::select! {
            () = shutdown.cancelled() => return,
            run = consume(&url, &topology, &live, &bound) => run,
        };
        bound.send_replace(false);
        if let Err(error) = run {
            tracing::warn!(error = %cita_shared::error::Chain(&error), "the live event feed failed; reconnecting");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error(transparent)]
    Connect(#[from] connection::ConnectError),
    #[error("the broker failed the feed")]
    Broker(#[from] lapin::Error),
    #[error("the broker closed the feed")]
    Closed,
}

async fn consume(
    url: &Endpoint,
    topology: &Topology,
    live: &Live,
    bound: &watch::Sender<bool>,
) -> Result<(), FeedError> {
    let connection = connection::connect(url, "cita-api-live", topology).await?;
    let channel = connection.create_channel().await?;
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.name().clone(),
            topology.name(CITA_EVENTS).into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut deliveries = channel
        .basic_consume(
            queue.name().clone(),
            "cita-api-live".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    bound.send_replace(true);
    tracing::info!("live event feed bound");
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery?;
        let seq =
            delivery
                .properties
                .headers()
                .as_ref()
                .and_then(|h| match h.inner().get(SEQ_HEADER) {
                    Some(AMQPValue::LongLongInt(seq)) => Some(*seq),
                    _ => None,
                });
        let data = String::from_utf8(delivery.data).ok();
        match (seq, data) {
            (Some(seq), Some(data)) => {
                match LiveEvent::parse(seq, delivery.routing_key.as_str(), data) {
                    Some(event) => live.send(event),
                    None => tracing::warn!(seq, "an event on cita.events is not one; skipped"),
                }
            }
            _ => tracing::warn!(
                routing_key = %delivery.routing_key,
                "an event without its outbox seq; skipped"
            ),
        }
    }
    Err(FeedError::Closed)
}
