//! The send ledger in PostgreSQL: one `messages` row per send command. Claiming the row
//! (unique on `command_id`, with a lease) is what makes a command go out at most once per
//! outcome; every final outcome is written with its event in one transaction.

use std::time::Duration;

use cita_shared::{
    contracts::{
        events::{Event, FailureReason},
        outbound::{Message, Outgoing, Purpose},
    },
    crypto::Sealed,
    error::{Classify, Infra},
    outbox,
};
use deadpool_postgres::{GenericClient, Pool};
use jiff::Timestamp;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Infra(#[from] Infra),
    /// The command names a conversation that is not this organization's.
    #[error("conversation {0} does not belong to the organization")]
    ForeignConversation(Uuid),
}

cita_shared::infra_errors!(LedgerError);

impl Classify for LedgerError {
    fn is_transient(&self) -> bool {
        matches!(self, LedgerError::Infra(infra) if infra.is_transient())
    }
}

/// What outbound needs to know about the sending organization and the recipient.
#[derive(Debug)]
pub struct Organization {
    pub phone_number_id: Option<String>,
    pub token: Option<Sealed>,
    pub suspended: bool,
    /// Meta refused its token; sends wait for a new one.
    pub paused: bool,
    /// Its own throughput, when it has one.
    pub messages_per_second: Option<u32>,
    /// The recipient wrote to the business in the last 24 hours.
    pub window_open: bool,
}

pub async fn organization(
    pool: &Pool,
    send: &Outgoing,
) -> Result<Option<Organization>, LedgerError> {
    let client = pool.get().await?;
    let statement = client
        .prepare_cached(
            "SELECT o.phone_number_id, o.access_token_key_id, o.access_token_ciphertext,
                    o.status = 'suspended', o.messaging_paused_at IS NOT NULL,
                    CASE WHEN o.whatsapp_coexistence
                         THEN LEAST(COALESCE(o.messages_per_second, 20), 20)
                         ELSE o.messages_per_second END,
                    EXISTS (SELECT 1 FROM conversations c
                            WHERE c.organization_id = o.id
                              AND (c.id = $2 OR c.wa_id = $3)
                              AND c.last_inbound_at > now() - interval '24 hours')
             FROM organizations o WHERE o.id = $1",
        )
        .await?;
    let row = client
        .query_opt(
            &statement,
            &[&send.organization_id, &send.conversation_id, &send.to],
        )
        .await?;
    Ok(row.map(|row| {
        let key_id: Option<String> = row.get(1);
        let ciphertext: Option<Vec<u8>> = row.get(2);
        Organization {
            phone_number_id: row.get(0),
            token: key_id
                .zip(ciphertext)
                .map(|(key_id, ciphertext)| Sealed { key_id, ciphertext }),
            suspended: row.get(3),
            paused: row.get(4),
            messages_per_second: row.get::<_, Option<i32>>(5).map(|r| r.max(1) as u32),
            window_open: row.get(6),
        }
    }))
}

/// The outcome of claiming a command's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This worker may send it now; the row is leased to it.
    Claimed { message_id: Uuid },
    /// Already sent or failed: nothing to do.
    Settled,
    /// Another worker holds the lease right now.
    Busy,
}

/// Records the command (first delivery) or takes the lease of its pending row (a retry).
pub async fn claim(pool: &Pool, send: &Outgoing, lease: Duration) -> Result<Claim, LedgerError> {
    let client = pool.get().await?;
    let sender_kind = match (send.author, send.purpose) {
        (Some(author), _) => author.as_str(),
        (None, Purpose::Reply) => "ai",
        (None, Purpose::Notification | Purpose::Reminder) => "system",
    };
    let command = serde_json::to_value(cita_shared::contracts::outbound::Command::SendV1(
        send.clone(),
    ))
    .expect("a command serializes to JSON");
    let lease_ms = lease.as_millis() as f64;
    let statement = client
        .prepare_cached(
            "INSERT INTO messages (organization_id, conversation_id, command_id, recipient, purpose,
                                   direction, sender_kind, content_kind, body,
                                   reply_to_wa_message_id, status, lease_until, command)
             VALUES ($1, $2, $3, $4, $5, 'outbound', $6, $7, $8, $9, 'pending',
                     now() + $10 * interval '1 millisecond', $11)
             ON CONFLICT (command_id) DO UPDATE SET lease_until = EXCLUDED.lease_until
                 WHERE messages.status IN ('pending', 'paused')
                   AND (messages.lease_until IS NULL OR messages.lease_until < now())
             RETURNING id",
        )
        .await?;
    let claimed = client
        .query_opt(
            &statement,
            &[
                &send.organization_id,
                &send.conversation_id,
                &send.command_id,
                &send.to,
                &send.purpose.as_str(),
                &sender_kind,
                &send.message.kind(),
                &send.message.summary(),
                &send.reply_to,
                &lease_ms,
                &command,
            ],
        )
        .await;
    let row = match claimed {
        Ok(row) => row,
        Err(error) if error.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
            return Err(LedgerError::ForeignConversation(
                send.conversation_id.unwrap_or_default(),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(row) = row {
        return Ok(Claim::Claimed {
            message_id: row.get(0),
        });
    }
    let status: String = client
        .query_one(
            "SELECT status FROM messages WHERE command_id = $1",
            &[&send.command_id],
        )
        .await?
        .get(0);
    Ok(match status.as_str() {
        "pending" | "paused" => Claim::Busy,
        _ => Claim::Settled,
    })
}

/// Meta accepted the message. A conversation's message is announced on `cita.events`
/// (`message.status`) with the status it now has: a delivery status that overtook it
/// is applied by a trigger as the WhatsApp id is written.
pub async fn sent(
    pool: &Pool,
    message_id: Uuid,
    wa_message_id: &str,
    message: &Message,
    now: Timestamp,
) -> Result<(), LedgerError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let statement = tx
        .prepare_cached(
            "UPDATE messages SET status = 'sent', wa_message_id = $2, content_kind = $3, body = $4,
                    attempts = attempts + 1, lease_until = NULL, command = NULL,
                    error_code = NULL, error_title = NULL, error_detail = NULL
             WHERE id = $1
             RETURNING organization_id, conversation_id, status",
        )
        .await?;
    let row = tx
        .query_one(
            &statement,
            &[
                &message_id,
                &wa_message_id,
                &message.kind(),
                &message.summary(),
            ],
        )
        .await?;
    if let Some(conversation_id) = row.get::<_, Option<Uuid>>(1) {
        let event = Event::MessageStatus {
            conversation_id,
            message_id,
            status: row.get(2),
        };
        outbox::emit(&tx, row.get(0), now, event).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A retryable failure; returns how many calls to Meta this message has had.
pub async fn attempt_failed(
    pool: &Pool,
    message_id: Uuid,
    code: Option<i64>,
    detail: &str,
) -> Result<u32, LedgerError> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "UPDATE messages SET attempts = attempts + 1, lease_until = NULL,
                    error_code = $2, error_title = 'retrying', error_detail = $3
             WHERE id = $1 RETURNING attempts",
            &[&message_id, &code.map(|c| c as i32), &detail],
        )
        .await?;
    Ok(row.get::<_, i32>(0).max(0) as u32)
}

/// Gives the lease back without an attempt (the send was put off).
pub async fn release(pool: &Pool, message_id: Uuid) -> Result<(), LedgerError> {
    let client = pool.get().await?;
    client
        .execute(
            "UPDATE messages SET lease_until = NULL WHERE id = $1",
            &[&message_id],
        )
        .await?;
    Ok(())
}

/// Parks the message until its organization can send again, if it still can't under
/// the organization's row lock; returns whether it did.
pub async fn park(
    pool: &Pool,
    message_id: Uuid,
    organization_id: Uuid,
) -> Result<bool, LedgerError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    // The share lock orders this against `tokens::store`: either the token is stored
    // first (and this sees it), or this message is parked before `resume` looks.
    let cannot_send: bool = tx
        .query_one(
            "SELECT messaging_paused_at IS NOT NULL OR access_token_ciphertext IS NULL
                    OR phone_number_id IS NULL
             FROM organizations WHERE id = $1 FOR SHARE",
            &[&organization_id],
        )
        .await?
        .get(0);
    if cannot_send {
        tx.execute(
            "UPDATE messages SET status = 'paused', lease_until = NULL WHERE id = $1",
            &[&message_id],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(cannot_send)
}

/// Meta throttled the call: record it, give the lease back; no attempt is spent.
pub async fn throttled(
    pool: &Pool,
    message_id: Uuid,
    code: Option<i64>,
    detail: &str,
) -> Result<(), LedgerError> {
    let client = pool.get().await?;
    client
        .execute(
            "UPDATE messages SET lease_until = NULL, error_code = $2, error_title = 'throttled',
                    error_detail = $3
             WHERE id = $1",
            &[&message_id, &code.map(|c| c as i32), &detail],
        )
        .await?;
    Ok(())
}

/// Why a send failed for good.
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: FailureReason,
    /// Meta's error code, when Meta answered.
    pub code: Option<i64>,
    pub detail: String,
    /// Whether this failure spent a call to Meta.
    pub attempted: bool,
}

/// Records a final failure and publishes `message.failed` (through the outbox), once.
pub async fn failed(
    pool: &Pool,
    message_id: Uuid,
    send: &Outgoing,
    failure: &Failure,
    now: Timestamp,
) -> Result<(), LedgerError> {
    let Failure {
        reason,
        code: error_code,
        detail,
        attempted,
    } = failure.clone();
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let updated = tx
        .execute(
            "UPDATE messages SET status = 'failed', error_code = $2, error_title = $3,
                    error_detail = $4, attempts = attempts + $5, lease_until = NULL, command = NULL
             WHERE id = $1 AND status IN ('pending', 'paused')",
            &[
                &message_id,
                &error_code.map(|c| c as i32),
                &reason.as_str(),
                &detail,
                &i32::from(attempted),
            ],
        )
        .await?;
    if updated == 1 {
        let event = Event::MessageFailed {
            message_id,
            command_id: send.command_id,
            conversation_id: send.conversation_id,
            to: send.to.clone(),
            purpose: send.purpose,
            reason,
            error_code,
            detail,
        };
        outbox::emit(&tx, send.organization_id, now, event).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Meta refused the token the call used. If it is still the organization's token,
/// pause the organization (publishing `organization.token_invalid` the first time) and
/// park the message; returns false when a new token was stored meanwhile.
pub async fn token_refused(
    pool: &Pool,
    message_id: Uuid,
    organization_id: Uuid,
    phone_number_id: &str,
    refused_token: &[u8],
    detail: &str,
    now: Timestamp,
) -> Result<bool, LedgerError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_one(
            "SELECT access_token_ciphertext = $2, messaging_paused_at IS NOT NULL
             FROM organizations WHERE id = $1 FOR UPDATE",
            &[&organization_id, &refused_token],
        )
        .await?;
    let (same_token, paused): (Option<bool>, bool) = (row.get(0), row.get(1));
    if same_token != Some(true) {
        // A new token was stored since this call started: the refusal is stale.
        tx.execute(
            "UPDATE messages SET lease_until = NULL, error_code = 190, error_title = 'retrying',
                    error_detail = $2
             WHERE id = $1",
            &[&message_id, &detail],
        )
        .await?;
        tx.commit().await?;
        return Ok(false);
    }
    if !paused {
        tx.execute(
            "UPDATE organizations SET messaging_paused_at = now(),
                    messaging_paused_reason = 'token_invalid', updated_at = now()
             WHERE id = $1",
            &[&organization_id],
        )
        .await?;
        let event = Event::TokenInvalid {
            phone_number_id: phone_number_id.to_string(),
            detail: detail.to_string(),
        };
        outbox::emit(&tx, organization_id, now, event).await?;
    }
    tx.execute(
        "UPDATE messages SET status = 'paused', attempts = attempts + 1, lease_until = NULL,
                error_code = 190, error_title = 'token_invalid', error_detail = $2
         WHERE id = $1",
        &[&message_id, &detail],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
