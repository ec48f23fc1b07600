//! A person of the business in a customer's conversation: taking it from the assistant,
//! giving it back, and writing to the customer. Conversations are the owner's, and those
//! of staff who see the whole business (`view_business_schedule`): they are every
//! customer's words.
//!
//! A reply is not sent here. The accepted command is remembered with the idempotency key
//! and returned; the caller publishes it to `outbound.send`, where its `command_id` makes
//! a second publication (after a retry) a no-op.

use cita_shared::{
    contracts::{
        events::Event,
        outbound::{Author, Message, Outgoing, Purpose},
        scheduling::{
            AcceptedReply, Actor, ConversationState, Outcome, ReleaseRequest, Reply, ReplyContent,
            ReplyRequest, SchedulingError, TakeOverRequest, WINDOW_TEMPLATES,
        },
    },
    spanish,
};
use jiff::Timestamp;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{Scheduler, writing};
use crate::{
    authz::{self, Principal},
    error::{Error, FORBIDDEN},
    store::{self, Cached, Tx},
};

/// WhatsApp's longest text message.
const MAX_TEXT_CHARS: usize = 4096;

const STATE_COLUMNS: &str =
    "v.id, v.status, v.handed_off_until, v.handoff_reason, v.last_inbound_at";

fn state(row: &Row) -> ConversationState {
    ConversationState {
        id: row.get(0),
        status: row.get(1),
        handed_off_until: row.get(2),
        handoff_reason: row.get(3),
        last_inbound_at: row.get(4),
    }
}

/// The actor, if they may handle the organization's customer conversations.
async fn handler(tx: &Tx<'_>, actor: &Actor) -> Result<Principal, Error> {
    let principal = authz::resolve(tx, actor).await?;
    if !principal.is_staff() || !principal.may_view_schedule(None) {
        return Err(FORBIDDEN);
    }
    Ok(principal)
}

/// Hands the conversation to a person for the organization's handoff time from now (an
/// open-ended handoff stays open-ended). What waited for the assistant is theirs now.
async fn take(
    tx: &Tx<'_>,
    actor: &Actor,
    conversation_id: Uuid,
    reason: &str,
    now: Timestamp,
) -> Result<(Row, ConversationState), Error> {
    let sql = format!(
        "UPDATE conversations v SET
            status = 'handed_off', handoff_reason = $3,
            handed_off_until = CASE
                WHEN v.status = 'handed_off' AND v.handed_off_until IS NULL THEN NULL
                ELSE GREATEST(v.handed_off_until, $4::timestamptz + make_interval(mins => o.handoff_minutes)) END,
            updated_at = now()
         FROM organizations o
         WHERE o.id = v.organization_id AND v.organization_id = $1 AND v.id = $2
           AND v.customer_id IS NOT NULL
         RETURNING {STATE_COLUMNS}, v.wa_id, o.name, o.locale"
    );
    let row = tx
        .maybe_row(
            &sql,
            &[&actor.organization_id, &conversation_id, &reason, &now],
        )
        .await?
        .ok_or_else(|| Error::not_found("conversation"))?;
    tx.run(
        "UPDATE messages SET answered_at = now(), handled_as = 'human'
         WHERE organization_id = $1 AND conversation_id = $2 AND direction = 'inbound'
           AND answered_at IS NULL",
        &[&actor.organization_id, &conversation_id],
    )
    .await?;
    let conversation = state(&row);
    changed(tx, actor, &conversation, now).await?;
    Ok((row, conversation))
}

async fn changed(
    tx: &Tx<'_>,
    actor: &Actor,
    conversation: &ConversationState,
    now: Timestamp,
) -> Result<(), Error> {
    store::emit(
        tx,
        actor.organization_id,
        now,
        Event::ConversationChanged {
            conversation_id: conversation.id,
            status: conversation.status.clone(),
            handed_off_until: conversation.handed_off_until,
            actor: *actor,
        },
    )
    .await
}

pub async fn take_over(scheduler: &Scheduler, request: TakeOverRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let key = request.idempotency_key.clone();
    let fingerprint = store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            handler(tx, &request.actor).await?;
            let (_, conversation) = take(
                tx,
                &request.actor,
                request.conversation_id,
                "taken_over",
                now,
            )
            .await?;
            Ok(Outcome::Conversation { conversation })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "take_over", command)
        .await
}

pub async fn release(scheduler: &Scheduler, request: ReleaseRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let key = request.idempotency_key.clone();
    let fingerprint = store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            handler(tx, &request.actor).await?;
            let sql = format!(
                "UPDATE conversations v SET status = 'active', handed_off_until = NULL,
                                            handoff_reason = NULL, updated_at = now()
                 WHERE v.organization_id = $1 AND v.id = $2 AND v.customer_id IS NOT NULL
                 RETURNING {STATE_COLUMNS}"
            );
            let row = tx
                .maybe_row(
                    &sql,
                    &[&request.actor.organization_id, &request.conversation_id],
                )
                .await?
                .ok_or_else(|| Error::not_found("conversation"))?;
            let conversation = state(&row);
            changed(tx, &request.actor, &conversation, now).await?;
            Ok(Outcome::Conversation { conversation })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "release", command)
        .await
}

pub async fn reply(scheduler: &Scheduler, request: ReplyRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let key = request.idempotency_key.clone();
    let fingerprint = store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let principal = handler(tx, &request.actor).await?;
            if let ReplyContent::Text { body } = &request.content {
                let chars = body.trim().chars().count();
                if chars == 0 || chars > MAX_TEXT_CHARS {
                    return Err(Error::invalid(format!(
                        "a message has 1 to {MAX_TEXT_CHARS} characters"
                    )));
                }
            }
            if let ReplyContent::Template { name } = &request.content
                && !WINDOW_TEMPLATES.contains(&name.as_str())
            {
                return Err(Error::invalid(format!(
                    "the templates are: {}",
                    WINDOW_TEMPLATES.join(", ")
                )));
            }
            let window = tx
                .maybe_row(
                    "SELECT last_inbound_at, last_inbound_at > $3::timestamptz - interval '24 hours'
                     FROM conversations
                     WHERE organization_id = $1 AND id = $2 AND customer_id IS NOT NULL",
                    &[&request.actor.organization_id, &request.conversation_id, &now],
                )
                .await?
                .ok_or_else(|| Error::not_found("conversation"))?;
            let last_inbound_at: Option<Timestamp> = window.get(0);
            let open = window.get::<_, Option<bool>>(1).unwrap_or(false);
            if matches!(request.content, ReplyContent::Text { .. }) && !open {
                return Err(Error::Rejected(SchedulingError::OutsideWindow {
                    last_inbound_at,
                }));
            }
            let (row, conversation) = take(
                tx,
                &request.actor,
                request.conversation_id,
                "owner_replied",
                now,
            )
            .await?;
            let (wa_id, business, locale): (String, String, String) =
                (row.get(5), row.get(6), row.get(7));
            let message = match &request.content {
                ReplyContent::Text { body } => Message::Text {
                    body: body.trim().to_owned(),
                    preview_url: false,
                },
                ReplyContent::Template { name } => {
                    Message::Template(spanish::template(name, &locale, &[&business]))
                }
            };
            let author = match principal {
                Principal::Staff { owner: true, .. } => Author::Owner,
                _ => Author::Staff,
            };
            let send = Outgoing {
                command_id: Uuid::new_v4(),
                organization_id: request.actor.organization_id,
                to: wa_id,
                conversation_id: Some(request.conversation_id),
                purpose: Purpose::Reply,
                reply_to: None,
                message,
                fallback: None,
                author: Some(author),
            };
            Ok(Outcome::Replied(Box::new(AcceptedReply {
                conversation,
                send,
            })))
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "reply", command)
        .await
}
