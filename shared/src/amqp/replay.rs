//! Moving dead-lettered messages back to work after a fix: each one is taken from
//! `<queue>.dead`, republished (with confirms) where its work queue gets its messages,
//! and only then acknowledged — so a failure half-way loses nothing.
//!
//! What replaying means differs per queue:
//! - `conversation.inbound`, `scheduling.rpc`, `reminders.events`: the message as it was
//!   (consumers deduplicate what they already applied);
//! - `outbound.send`: the command under a new command id, since the ledger keeps the
//!   failed send's id failed for good (a message is never sent twice under one id);
//! - `conversation.turns`: the conversation's messages marked `model_rejected` wait for an
//!   answer again.

use deadpool_postgres::Pool;
use lapin::{
    BasicProperties,
    options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions},
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    Topology,
    connection::{self, ConnectError},
    consumer::REASON_HEADER,
    topology::{
        CITA_COMMANDS, CITA_EVENTS, CONVERSATION_INBOUND, CONVERSATION_TURNS, OUTBOUND_SEND,
        REMINDERS_EVENTS, SCHEDULING_RPC, WA_WEBHOOKS, WHATSAPP_ROUTING_KEY, dead_name,
    },
};
use crate::{db::Cached, error::Infra, tls::Endpoint};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no work queue is called {0:?}")]
    UnknownQueue(String),
    #[error("cannot connect to the broker")]
    Connect(#[from] ConnectError),
    #[error("the broker failed")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not take a replayed message (nack or no route)")]
    NotTaken,
    #[error(transparent)]
    Infra(#[from] Infra),
}

crate::infra_errors!(ReplayError);

/// Moves up to `limit` messages of `queue`'s dead queue back to work; returns how many.
/// A message that can't be replayed as it is (not JSON where JSON is needed) is left in
/// the dead queue, at its end.
pub async fn replay(
    url: &Endpoint,
    topology: &Topology,
    pool: &Pool,
    queue: &str,
    limit: usize,
) -> Result<usize, ReplayError> {
    let (exchange, fixed_key) = match queue {
        CONVERSATION_INBOUND => (WA_WEBHOOKS, Some(WHATSAPP_ROUTING_KEY)),
        SCHEDULING_RPC => (CITA_COMMANDS, Some(SCHEDULING_RPC)),
        OUTBOUND_SEND => (CITA_COMMANDS, Some(OUTBOUND_SEND)),
        CONVERSATION_TURNS => (CITA_COMMANDS, Some(CONVERSATION_TURNS)),
        REMINDERS_EVENTS => (CITA_EVENTS, None),
        other => return Err(ReplayError::UnknownQueue(other.to_owned())),
    };
    let connection = connection::open(url, "cita-replay").await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let dead = topology.name(&dead_name(queue));
    let exchange = topology.name(exchange);
    let mut moved = 0;
    let mut skipped = 0;
    while moved + skipped < limit {
        let Some(message) = channel
            .basic_get(dead.as_str().into(), BasicGetOptions::default())
            .await?
        else {
            break;
        };
        let delivery = &message.delivery;
        let mut body = delivery.data.clone();
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        let routing_key = match (fixed_key, &json) {
            (Some(key), _) => key.to_owned(),
            // An event goes back under its own type, which is its routing key.
            (None, Some(event)) => match event["type"].as_str() {
                Some(kind) => kind.to_owned(),
                None => String::new(),
            },
            (None, None) => String::new(),
        };
        let needs_json = matches!(queue, OUTBOUND_SEND | CONVERSATION_TURNS | REMINDERS_EVENTS);
        if routing_key.is_empty() || (needs_json && json.is_none()) {
            // Back at the end of the dead queue: this one needs a person.
            tracing::warn!(
                queue,
                "a dead message can't be replayed as it is; left dead"
            );
            let _ = channel
                .basic_publish(
                    "".into(),
                    dead.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    delivery.properties.clone(),
                )
                .await?
                .await?;
            delivery.ack(BasicAckOptions::default()).await?;
            skipped += 1;
            continue;
        }
        if queue == OUTBOUND_SEND
            && let Some(mut command) = json.clone()
        {
            command["command_id"] = Value::String(Uuid::new_v4().to_string());
            body = serde_json::to_vec(&command).expect("JSON serializes");
        }
        if queue == CONVERSATION_TURNS
            && let Some(conversation) = json
                .as_ref()
                .and_then(|t| t["conversation_id"].as_str())
                .and_then(|id| id.parse::<Uuid>().ok())
        {
            let client = pool.get().await?;
            client
                .run(
                    "UPDATE messages SET answered_at = NULL, handled_as = NULL
                     WHERE conversation_id = $1 AND handled_as = 'model_rejected'",
                    &[&conversation],
                )
                .await?;
        }
        let mut headers = lapin::types::FieldTable::default();
        for (key, value) in delivery.properties.headers().iter().flat_map(|h| h.inner()) {
            if key.as_str() != REASON_HEADER {
                headers.insert(key.clone(), value.clone());
            }
        }
        let properties: BasicProperties = delivery.properties.clone().with_headers(headers);
        let confirmation =
            super::publish_confirmed(&channel, &exchange, &routing_key, &body, properties).await?;
        if confirmation != lapin::Confirmation::Ack(None) {
            return Err(ReplayError::NotTaken);
        }
        delivery.ack(BasicAckOptions::default()).await?;
        moved += 1;
    }
    let _ = connection.close(200, "replayed".into()).await;
    Ok(moved)
}
