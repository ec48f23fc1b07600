//! `conversation.inbound`: raw webhook bodies from the ingress become stored messages,
//! statuses and handoffs, item by item; every conversation with something new to answer
//! gets a turn command on `conversation.turns`.
//!
//! A body that is not a WhatsApp notification at all is kept in `rejected_webhooks` and
//! dead-lettered with its reason. Items of a good body that can't be read, or that name an
//! unknown or suspended number, are kept the same way and acknowledged with the rest.

pub mod store;

use std::{collections::BTreeSet, sync::Arc};

use cita_shared::{
    amqp::{
        Handler, PublishError, Publisher, Settlement, Topology,
        settle::text_header,
        topology::{CITA_COMMANDS, CONVERSATION_TURNS},
    },
    contracts::conversation::{Turn, TurnCommand},
    error::Infra,
    whatsapp::webhook::{self, Item},
};
use deadpool_postgres::Pool;
use lapin::{BasicProperties, Channel, message::Delivery};
use uuid::Uuid;

use crate::metrics::Metrics;
pub use store::Stored;

/// What a whole body did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Conversations with new messages for the assistant, as (organization, conversation).
    pub turns: BTreeSet<(Uuid, Uuid)>,
    /// Every item's outcome, in order (for metrics and tests).
    pub items: Vec<ItemOutcome>,
    /// Set when the body was not a notification at all: dead-letter it with this reason.
    pub unreadable: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Stored(Stored),
    /// Not acted on and kept in `rejected_webhooks` with the reason.
    Rejected(String),
    /// Meta reported errors about the number; logged.
    Errors,
    /// A field this worker does not act on (history, contact sync, …).
    Ignored,
}

impl ItemOutcome {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            ItemOutcome::Stored(Stored::Message { .. }) => "message",
            ItemOutcome::Stored(Stored::Duplicate { .. }) => "duplicate",
            ItemOutcome::Stored(Stored::Echo { .. }) => "echo",
            ItemOutcome::Stored(Stored::StatusApplied) => "status",
            ItemOutcome::Stored(Stored::StatusParked) => "status_parked",
            ItemOutcome::Stored(Stored::Refused(_)) | ItemOutcome::Rejected(_) => "rejected",
            ItemOutcome::Errors => "errors",
            ItemOutcome::Ignored => "ignored",
        }
    }
}

/// Applies one webhook body. Each item commits on its own, and applying the same body
/// again changes nothing (messages are unique by WhatsApp id, statuses only move
/// forward), so a body whose application failed half-way is simply applied again.
pub async fn apply(pool: &Pool, body: &[u8], request_id: Option<&str>) -> Result<Applied, Infra> {
    let mut applied = Applied::default();
    let items = match webhook::parse(body) {
        Ok(items) => items,
        Err(error) => {
            let reason = format!("unreadable webhook: {}", cita_shared::error::Chain(&error));
            store::reject(pool, request_id, None, &reason, body).await?;
            applied.unreadable = Some(reason);
            return Ok(applied);
        }
    };
    for item in &items {
        let outcome = match item {
            Item::Message(message) => ItemOutcome::Stored(store::message(pool, message).await?),
            Item::Echo(echo) => ItemOutcome::Stored(store::echo(pool, echo).await?),
            Item::Status(status) => ItemOutcome::Stored(store::status(pool, status).await?),
            Item::Errors {
                phone_number_id,
                errors,
            } => {
                for error in errors {
                    tracing::warn!(%phone_number_id, code = error.code, title = %error.title, detail = ?error.detail, "Meta reports an error for the number");
                }
                ItemOutcome::Errors
            }
            Item::Ignored { field, .. } => {
                tracing::debug!(%field, "webhook field not acted on");
                ItemOutcome::Ignored
            }
            Item::Malformed {
                phone_number_id,
                reason,
            } => {
                let reason = format!("malformed item: {reason}");
                store::reject(pool, request_id, phone_number_id.as_deref(), &reason, body).await?;
                ItemOutcome::Rejected(reason)
            }
        };
        let outcome = match outcome {
            ItemOutcome::Stored(Stored::Refused(reason)) => {
                let phone_number_id = item_number(item);
                store::reject(pool, request_id, phone_number_id, reason, body).await?;
                ItemOutcome::Rejected(reason.to_owned())
            }
            other => other,
        };
        match outcome {
            ItemOutcome::Stored(Stored::Message {
                organization_id,
                conversation_id,
                needs_turn: true,
            })
            | ItemOutcome::Stored(Stored::Duplicate {
                waiting: Some((organization_id, conversation_id)),
            }) => {
                applied.turns.insert((organization_id, conversation_id));
            }
            _ => {}
        }
        if let ItemOutcome::Rejected(reason) = &outcome {
            tracing::warn!(request_id, %reason, "webhook item not acted on; kept for replay");
        }
        applied.items.push(outcome);
    }
    Ok(applied)
}

fn item_number(item: &Item) -> Option<&str> {
    match item {
        Item::Message(m) => Some(&m.phone_number_id),
        Item::Echo(e) => Some(&e.phone_number_id),
        Item::Status(s) => Some(&s.phone_number_id),
        _ => None,
    }
}

/// Publishes a turn command for each conversation.
pub async fn request_turns(
    publisher: &Publisher,
    topology: &Topology,
    turns: impl IntoIterator<Item = Turn>,
) -> Result<(), PublishError> {
    let exchange = topology.name(CITA_COMMANDS);
    for turn in turns {
        let body = serde_json::to_vec(&TurnCommand::TurnV1(turn))
            .expect("a turn command serializes to JSON");
        publisher
            .publish(
                &exchange,
                CONVERSATION_TURNS,
                &body,
                BasicProperties::default().with_content_type("application/json".into()),
            )
            .await?;
    }
    Ok(())
}

/// The consumer of `conversation.inbound`.
pub struct Intake {
    pub pool: Pool,
    pub publisher: Arc<Publisher>,
    pub topology: Topology,
    pub metrics: Metrics,
}

impl Handler for Intake {
    type Error = Infra;
    type Admission = ();

    fn admit(&self, _: &Delivery) {}

    async fn attempt(
        &self,
        delivery: &Delivery,
        (): &(),
        _: &Channel,
    ) -> Result<Settlement, Infra> {
        let request_id = text_header(delivery, "x-request-id");
        let request_id = request_id.as_deref();
        let applied = apply(&self.pool, &delivery.data, request_id).await?;
        for item in &applied.items {
            self.metrics.item(item.label());
        }
        if let Some(reason) = applied.unreadable {
            tracing::warn!(request_id, %reason, "webhook dead-lettered; kept for replay");
            self.metrics.item("unreadable");
            return Ok(Settlement::DeadLetter(reason));
        }
        let turns = applied
            .turns
            .into_iter()
            .map(|(organization_id, conversation_id)| Turn {
                organization_id,
                conversation_id,
                attempt: 0,
            });
        request_turns(&self.publisher, &self.topology, turns).await?;
        Ok(Settlement::Ack)
    }
}
