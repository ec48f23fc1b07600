//! What each webhook item changes in PostgreSQL, one transaction per item.

use cita_shared::db::Cached;
use cita_shared::whatsapp::{
    phone,
    webhook::{Content, Echo, InboundMessage, StatusUpdate},
};
use deadpool_postgres::Pool;
use serde_json::{Value, json};
use uuid::Uuid;

use cita_shared::{contracts::events::Event, customers, error::Infra, outbox};

/// What became of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A new inbound message; `needs_turn` when the assistant should answer it.
    Message {
        organization_id: Uuid,
        conversation_id: Uuid,
        needs_turn: bool,
    },
    /// A message already stored (Meta delivers duplicates). When it still waits for an
    /// answer, its conversation (a turn request may have been lost with a crash).
    Duplicate { waiting: Option<(Uuid, Uuid)> },
    /// An owner's message from the WhatsApp Business app; the conversation is handed off.
    Echo { conversation_id: Uuid },
    /// A status applied to its message.
    StatusApplied,
    /// A status for a message not known yet, kept until it appears.
    StatusParked,
    /// Not acted on, for the reason given (unknown or suspended number).
    Refused(&'static str),
}

/// The organization that owns `phone_number_id`, if it may take messages.
struct Organization {
    id: Uuid,
    handoff_minutes: i32,
}

async fn organization(
    client: &impl Cached,
    phone_number_id: &str,
) -> Result<Result<Organization, &'static str>, Infra> {
    let row = client
        .maybe_row(
            "SELECT id, status, handoff_minutes FROM organizations WHERE phone_number_id = $1",
            &[&phone_number_id],
        )
        .await?;
    Ok(match row {
        None => Err("unknown phone_number_id"),
        Some(row) if row.get::<_, &str>(1) == "suspended" => Err("organization suspended"),
        Some(row) => Ok(Organization {
            id: row.get(0),
            handoff_minutes: row.get(2),
        }),
    })
}

/// Who is writing: a staff member (by phone), or a customer (created on first contact).
enum Counterpart {
    Staff { id: Uuid, owner: bool },
    Customer { id: Uuid },
}

impl Counterpart {
    fn sender_kind(&self) -> &'static str {
        match self {
            Counterpart::Staff { owner: true, .. } => "owner",
            Counterpart::Staff { .. } => "staff",
            Counterpart::Customer { .. } => "customer",
        }
    }
}

async fn counterpart(
    client: &impl Cached,
    organization_id: Uuid,
    wa_id: &str,
    user_id: Option<&str>,
    profile_name: Option<&str>,
) -> Result<Counterpart, Infra> {
    let forms = phone::variants(wa_id);
    if let Some(staff) = client
        .maybe_row(
            "SELECT id, role = 'owner' FROM staff
             WHERE organization_id = $1 AND active AND phone = ANY($2)",
            &[&organization_id, &forms],
        )
        .await?
    {
        return Ok(Counterpart::Staff {
            id: staff.get(0),
            owner: staff.get(1),
        });
    }
    Ok(Counterpart::Customer {
        id: customers::for_sender(client, organization_id, wa_id, user_id, profile_name).await?,
    })
}

/// The conversation with `wa_id`, created on first contact, re-pointed if the person
/// became (or stopped being) staff. With `inbound_at` (the person wrote), the 24-hour
/// window moves to it — whatever order Meta delivers messages in — and a closed
/// conversation, or one whose handoff ran out, is active again. Returns its id and
/// whether it is handed off now.
async fn conversation(
    client: &impl Cached,
    organization_id: Uuid,
    wa_id: &str,
    who: &Counterpart,
    inbound_at: Option<jiff::Timestamp>,
) -> Result<(Uuid, bool), Infra> {
    let (customer_id, staff_id) = match who {
        Counterpart::Staff { id, .. } => (None, Some(*id)),
        Counterpart::Customer { id } => (Some(*id), None),
    };
    let row = client
        .row(
            "INSERT INTO conversations AS c (organization_id, wa_id, customer_id, staff_id, last_inbound_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (organization_id, wa_id) DO UPDATE
                SET customer_id = EXCLUDED.customer_id, staff_id = EXCLUDED.staff_id,
                    last_inbound_at = GREATEST(c.last_inbound_at, EXCLUDED.last_inbound_at),
                    status = CASE
                        WHEN EXCLUDED.last_inbound_at IS NULL
                          OR (c.status = 'handed_off'
                              AND (c.handed_off_until IS NULL OR c.handed_off_until > now()))
                        THEN c.status ELSE 'active' END,
                    handed_off_until = CASE
                        WHEN EXCLUDED.last_inbound_at IS NULL OR c.handed_off_until > now()
                        THEN c.handed_off_until END,
                    handoff_reason = CASE
                        WHEN EXCLUDED.last_inbound_at IS NULL
                          OR (c.status = 'handed_off'
                              AND (c.handed_off_until IS NULL OR c.handed_off_until > now()))
                        THEN c.handoff_reason END,
                    updated_at = now()
             RETURNING id,
                       status = 'handed_off'
                       AND (handed_off_until IS NULL OR handed_off_until > now())",
            &[&organization_id, &wa_id, &customer_id, &staff_id, &inbound_at],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// What a message holds beyond its body, for the assistant and for staff to read back.
fn details(content: &Content) -> Option<Value> {
    match content {
        Content::Choice { id, title } => Some(json!({"choice_id": id, "title": title})),
        Content::Location {
            latitude,
            longitude,
            name,
            address,
        } => Some(
            json!({"latitude": latitude, "longitude": longitude, "name": name, "address": address}),
        ),
        Content::Media {
            mime_type, caption, ..
        } => Some(json!({"mime_type": mime_type, "caption": caption})),
        Content::Reaction { to, emoji } => Some(json!({"to": to, "emoji": emoji})),
        Content::Contacts { count } => Some(json!({"count": count})),
        Content::System { kind, .. } => Some(json!({"system": kind})),
        Content::Edit { original, text } => Some(json!({"edits": original, "text": text})),
        Content::Revoke { original } => Some(json!({"revokes": original})),
        Content::Unsupported { kind, detail } => Some(json!({"type": kind, "detail": detail})),
        Content::Text { .. } => None,
    }
}

/// Reactions, system notices, edits and deletions are not written to the assistant:
/// nothing to answer. An edit comes within minutes of a message that was already
/// answered; it is kept (with its new text) for staff reading the conversation.
fn needs_answer(content: &Content) -> bool {
    !matches!(
        content,
        Content::Reaction { .. }
            | Content::System { .. }
            | Content::Edit { .. }
            | Content::Revoke { .. }
    )
}

pub async fn message(pool: &Pool, message: &InboundMessage) -> Result<Stored, Infra> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let org = match organization(&tx, &message.phone_number_id).await? {
        Ok(org) => org,
        Err(reason) => return Ok(Stored::Refused(reason)),
    };
    let who = counterpart(
        &tx,
        org.id,
        &message.from,
        message.user_id.as_deref(),
        message.profile_name.as_deref(),
    )
    .await?;
    let (conversation_id, handed_off) =
        conversation(&tx, org.id, &message.from, &who, Some(message.timestamp)).await?;
    let handled_as = if !needs_answer(&message.content) {
        Some("no_answer_needed")
    } else if handed_off {
        Some("handed_off")
    } else {
        None
    };
    let inserted = tx
        .maybe_row(
            "INSERT INTO messages (organization_id, conversation_id, direction, sender_kind,
                                   content_kind, body, media_id, wa_message_id,
                                   reply_to_wa_message_id, status, sent_by_person_at, content,
                                   answered_at, handled_as)
             VALUES ($1, $2, 'inbound', $3, $4, $5, $6, $7, $8, 'received', $9, $10,
                     CASE WHEN $11::text IS NULL THEN NULL ELSE now() END, $11)
             ON CONFLICT (wa_message_id) DO NOTHING
             RETURNING id",
            &[
                &org.id,
                &conversation_id,
                &who.sender_kind(),
                &message.content.kind(),
                &message.content.body(),
                &message.content.media_id(),
                &message.wamid,
                &message.reply_to,
                &message.timestamp,
                &details(&message.content),
                &handled_as,
            ],
        )
        .await?;
    if inserted.is_none() {
        // The conversation and customer touches are rolled back with the transaction.
        tx.rollback().await?;
        let waiting = client
            .maybe_row(
                "SELECT organization_id, conversation_id FROM messages
                 WHERE wa_message_id = $1 AND direction = 'inbound' AND answered_at IS NULL",
                &[&message.wamid],
            )
            .await?
            .map(|row| (row.get(0), row.get(1)));
        return Ok(Stored::Duplicate { waiting });
    }
    // For the business's live view; staff talking to the assistant is not its business.
    if let (Counterpart::Customer { id: customer_id }, Some(row)) = (&who, &inserted) {
        outbox::emit(
            &tx,
            org.id,
            message.timestamp,
            Event::MessageReceived {
                conversation_id,
                message_id: row.get(0),
                customer_id: *customer_id,
                content_kind: message.content.kind().to_owned(),
                handed_off,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Stored::Message {
        organization_id: org.id,
        conversation_id,
        needs_turn: handled_as.is_none(),
    })
}

/// The owner wrote to a customer from the WhatsApp Business app: the message joins the
/// transcript and the assistant steps back for the organization's handoff time.
pub async fn echo(pool: &Pool, echo: &Echo) -> Result<Stored, Infra> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let org = match organization(&tx, &echo.phone_number_id).await? {
        Ok(org) => org,
        Err(reason) => return Ok(Stored::Refused(reason)),
    };
    let forms = phone::variants(&echo.to);
    let existing = tx
        .maybe_row(
            "SELECT id FROM conversations WHERE organization_id = $1 AND wa_id = ANY($2)
             ORDER BY wa_id = $3 DESC LIMIT 1",
            &[&org.id, &forms, &echo.to],
        )
        .await?;
    let conversation_id = match existing {
        Some(row) => row.get(0),
        None => {
            let who = counterpart(&tx, org.id, &echo.to, None, None).await?;
            conversation(&tx, org.id, &echo.to, &who, None).await?.0
        }
    };
    let inserted = tx
        .run(
            "INSERT INTO messages (organization_id, conversation_id, direction, sender_kind,
                                   content_kind, body, media_id, wa_message_id, status,
                                   sent_by_person_at, content, recipient)
             VALUES ($1, $2, 'outbound', 'owner', $3, $4, $5, $6, 'sent', $7, $8, $9)
             ON CONFLICT (wa_message_id) DO NOTHING",
            &[
                &org.id,
                &conversation_id,
                &echo.content.kind(),
                &echo.content.body(),
                &echo.content.media_id(),
                &echo.wamid,
                &echo.timestamp,
                &details(&echo.content),
                &echo.to,
            ],
        )
        .await?;
    if inserted == 0 {
        return Ok(Stored::Duplicate { waiting: None });
    }
    tx.run(
        "UPDATE conversations
         SET status = 'handed_off', handoff_reason = 'owner_replied',
             handed_off_until = GREATEST(handed_off_until,
                                         now() + make_interval(mins => $2)),
             updated_at = now()
         WHERE id = $1",
        &[&conversation_id, &org.handoff_minutes],
    )
    .await?;
    // What was waiting for the assistant is now the owner's to answer.
    tx.run(
        "UPDATE messages SET answered_at = now(), handled_as = 'human'
         WHERE conversation_id = $1 AND direction = 'inbound' AND answered_at IS NULL",
        &[&conversation_id],
    )
    .await?;
    tx.commit().await?;
    Ok(Stored::Echo { conversation_id })
}

/// Moves an outbound message's status forward; a status that overtook its message is
/// parked and applied by a trigger when the message's WhatsApp id is written.
pub async fn status(pool: &Pool, update: &StatusUpdate) -> Result<Stored, Infra> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let org = match organization(&tx, &update.phone_number_id).await? {
        Ok(org) => org,
        Err(reason) => return Ok(Stored::Refused(reason)),
    };
    // Serializes with the trigger that applies parked statuses (migration 0005).
    tx.run(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&update.wamid],
    )
    .await?;
    let error = update.errors.first();
    let code = error.and_then(|e| i32::try_from(e.code).ok());
    let title = error.map(|e| match &e.detail {
        Some(detail) => format!("{}: {detail}", e.title),
        None => e.title.clone(),
    });
    let status = update.status.as_str();
    let updated = tx
        .maybe_row(
            "UPDATE messages
             SET status = $3,
                 error_code = CASE WHEN $3 = 'failed' THEN COALESCE($4, error_code) ELSE error_code END,
                 error_title = CASE WHEN $3 = 'failed' THEN COALESCE($5, error_title) ELSE error_title END
             WHERE wa_message_id = $1 AND organization_id = $2
             RETURNING id, conversation_id, status",
            &[&update.wamid, &org.id, &status, &code, &title],
        )
        .await?;
    let stored = if let Some(row) = updated {
        if let Some(conversation_id) = row.get::<_, Option<Uuid>>(1) {
            let event = Event::MessageStatus {
                conversation_id,
                message_id: row.get(0),
                status: row.get(2),
            };
            outbox::emit(&tx, org.id, update.timestamp, event).await?;
        }
        Stored::StatusApplied
    } else {
        tx.run(
            "INSERT INTO early_statuses (wa_message_id, status, error_code, error_title)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&update.wamid, &status, &code, &title],
        )
        .await?;
        Stored::StatusParked
    };
    tx.commit().await?;
    Ok(stored)
}

/// Keeps a payload (or an item of it) that was not acted on, with why, for replay.
pub async fn reject(
    pool: &Pool,
    request_id: Option<&str>,
    phone_number_id: Option<&str>,
    reason: &str,
    body: &[u8],
) -> Result<(), Infra> {
    let client = pool.get().await?;
    client
        .run(
            "INSERT INTO rejected_webhooks (request_id, phone_number_id, reason, body)
             VALUES ($1, $2, $3, $4)",
            &[&request_id, &phone_number_id, &reason, &body],
        )
        .await?;
    Ok(())
}
