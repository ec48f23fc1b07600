//! Customers' conversations: the inbox (handed-off first), a transcript with each
//! message's delivery status, and a person taking over, giving back and replying. The
//! owner's, and staff's with `view_business_schedule`: they are every customer's words.
//!
//! A reply is accepted by scheduling (which checks the 24-hour window, takes the
//! conversation over and remembers the send under the idempotency key) and then
//! published to outbound. Outside the window the answer is a 409 naming the templates
//! that may go instead; nothing pretends to have been sent.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use cita_shared::contracts::{
    outbound::Command,
    scheduling::{
        Actor, ConversationState, Outcome, ReleaseRequest, ReplyContent, ReplyRequest, Request,
        TakeOverRequest, permissions::VIEW_BUSINESS_SCHEDULE,
    },
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::unexpected;
use crate::{
    auth::{Caller, Scoped},
    body::{Body, Path, Query, idempotency_key},
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

const PAGE_DEFAULT: i64 = 30;
const PAGE_MAX: i64 = 100;
/// A conversation's last message, as the inbox shows it.
const PREVIEW_CHARS: i32 = 80;

/// A cursor this API gave: the fields of the row a page ended on.
fn decode<const N: usize>(cursor: &str) -> ApiResult<[String; N]> {
    let invalid = || ApiError::Invalid("cursor is not one this API gave".into());
    let text =
        String::from_utf8(B64.decode(cursor).map_err(|_| invalid())?).map_err(|_| invalid())?;
    let parts: Vec<String> = text.split('|').map(str::to_owned).collect();
    parts.try_into().map_err(|_| invalid())
}

fn parsed<T: std::str::FromStr>(text: &str) -> ApiResult<T> {
    text.parse()
        .map_err(|_| ApiError::Invalid("cursor is not one this API gave".into()))
}

fn handler(caller: &Caller) -> ApiResult<()> {
    caller.require(VIEW_BUSINESS_SCHEDULE)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only those a person has now.
    pub handed_off: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Listed {
    id: Uuid,
    customer: Value,
    /// `active` (the assistant answers) or `handed_off` (a person has it).
    status: &'static str,
    handed_off_until: Option<Timestamp>,
    handoff_reason: Option<String>,
    last_inbound_at: Option<Timestamp>,
    /// Free text may go out until then; after it, only a template.
    window_closes_at: Option<Timestamp>,
    updated_at: Timestamp,
    last_message: Option<Value>,
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/conversations", security(("bearer" = [])), tag = "conversations", params(("organization_id" = Uuid, Path), InboxQuery),
    extensions(("x-cita-permission" = json!("view_business_schedule"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn inbox(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Query(query): Query<InboxQuery>,
) -> ApiResult<Json<Value>> {
    handler(&caller)?;
    let limit = query.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::Invalid(format!("limit is 1 to {PAGE_MAX}")));
    }
    // Handed-off conversations (rank 0) come first, then the rest; latest first in each.
    let after = match query.cursor.as_deref().map(decode::<3>).transpose()? {
        Some([rank, at, id]) => Some((
            parsed::<i32>(&rank)?,
            parsed::<Timestamp>(&at)?,
            parsed::<Uuid>(&id)?,
        )),
        None => None,
    };
    let (after_rank, after_at, after_id) = match after {
        Some((rank, at, id)) => (Some(rank), Some(at), Some(id)),
        None => (None, None, None),
    };
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let statement = tx
        .prepare_cached(
            "SELECT v.id, v.rank, v.handed_off_until, v.handoff_reason, v.last_inbound_at,
                    v.updated_at, c.id, c.name, c.phone,
                    m.created_at, m.direction, m.sender_kind, m.content_kind,
                    left(m.body, $7), m.status
             FROM (SELECT v.*, CASE WHEN v.status = 'handed_off'
                                     AND (v.handed_off_until IS NULL OR v.handed_off_until > $1)
                                    THEN 0 ELSE 1 END AS rank
                   FROM conversations v WHERE v.customer_id IS NOT NULL) v
             JOIN customers c ON c.id = v.customer_id
             LEFT JOIN LATERAL (SELECT * FROM messages m WHERE m.conversation_id = v.id
                                ORDER BY m.created_at DESC LIMIT 1) m ON true
             WHERE (NOT $2::bool OR v.rank = 0)
               AND ($3::int IS NULL OR v.rank > $3
                    OR (v.rank = $3 AND (v.updated_at, v.id) < ($4, $5::uuid)))
             ORDER BY v.rank, v.updated_at DESC, v.id DESC LIMIT $6",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &now,
                &query.handed_off.unwrap_or(false),
                &after_rank,
                &after_at,
                &after_id,
                &(limit + 1),
                &PREVIEW_CHARS,
            ],
        )
        .await?;
    tx.commit().await?;
    let more = rows.len() as i64 > limit;
    let page = &rows[..rows.len().min(limit as usize)];
    let next_cursor = more.then(|| page.last()).flatten().map(|row| {
        let (id, rank, at): (Uuid, i32, Timestamp) = (row.get(0), row.get(1), row.get(5));
        B64.encode(format!("{rank}|{at}|{id}"))
    });
    let conversations: Vec<Listed> = page
        .iter()
        .map(|row| {
            let last_inbound_at: Option<Timestamp> = row.get(4);
            let last_at: Option<Timestamp> = row.get(9);
            Listed {
                id: row.get(0),
                customer: json!({"id": row.get::<_, Uuid>(6), "name": row.get::<_, Option<String>>(7), "phone": row.get::<_, Option<String>>(8)}),
                status: if row.get::<_, i32>(1) == 0 { "handed_off" } else { "active" },
                handed_off_until: row.get(2),
                handoff_reason: row.get(3),
                last_inbound_at,
                window_closes_at: closes(last_inbound_at),
                updated_at: row.get(5),
                last_message: last_at.map(|at| {
                    json!({
                        "at": at,
                        "direction": row.get::<_, String>(10),
                        "sender_kind": row.get::<_, String>(11),
                        "content_kind": row.get::<_, String>(12),
                        "preview": row.get::<_, Option<String>>(13),
                        "status": row.get::<_, String>(14),
                    })
                }),
            }
        })
        .collect();
    Ok(Json(
        json!({"conversations": conversations, "next_cursor": next_cursor}),
    ))
}

/// The end of the 24-hour window that `last_inbound_at` opened.
fn closes(last_inbound_at: Option<Timestamp>) -> Option<Timestamp> {
    last_inbound_at.map(|at| at + jiff::SignedDuration::from_hours(24))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TranscriptQuery {
    /// Older messages than the page this cursor came with.
    pub before: Option<String>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/conversations/{conversation_id}/messages", security(("bearer" = [])), tag = "conversations", params(("organization_id" = Uuid, Path), ("conversation_id" = Uuid, Path), TranscriptQuery),
    extensions(("x-cita-permission" = json!("view_business_schedule"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn transcript(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, conversation_id)): Path<(Uuid, Uuid)>,
    Query(query): Query<TranscriptQuery>,
) -> ApiResult<Json<Value>> {
    handler(&caller)?;
    let limit = query.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::Invalid(format!("limit is 1 to {PAGE_MAX}")));
    }
    let before = match query.before.as_deref().map(decode::<2>).transpose()? {
        Some([at, id]) => Some((parsed::<Timestamp>(&at)?, parsed::<Uuid>(&id)?)),
        None => None,
    };
    let (before_at, before_id) = before.unzip();
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let conversation = tx
        .query_opt(
            "SELECT v.id, CASE WHEN v.status = 'handed_off'
                                AND (v.handed_off_until IS NULL OR v.handed_off_until > $2)
                               THEN 'handed_off' ELSE 'active' END,
                    v.handed_off_until, v.handoff_reason, v.last_inbound_at,
                    c.id, c.name, c.phone
             FROM conversations v JOIN customers c ON c.id = v.customer_id
             WHERE v.id = $1",
            &[&conversation_id, &now],
        )
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    let rows = tx
        .query(
            "SELECT id, created_at, direction, sender_kind, content_kind, body, status,
                    status_changed_at, error_title
             FROM messages
             WHERE conversation_id = $1
               AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
             ORDER BY created_at DESC, id DESC LIMIT $4",
            &[&conversation_id, &before_at, &before_id, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    let more = rows.len() as i64 > limit;
    let page = &rows[..rows.len().min(limit as usize)];
    let older_cursor = more.then(|| page.last()).flatten().map(|row| {
        B64.encode(format!(
            "{}|{}",
            row.get::<_, Timestamp>(1),
            row.get::<_, Uuid>(0)
        ))
    });
    // Oldest first, as a chat reads.
    let messages: Vec<Value> = page
        .iter()
        .rev()
        .map(|row| {
            json!({
                "id": row.get::<_, Uuid>(0),
                "at": row.get::<_, Timestamp>(1),
                "direction": row.get::<_, String>(2),
                "sender_kind": row.get::<_, String>(3),
                "content_kind": row.get::<_, String>(4),
                "body": row.get::<_, Option<String>>(5),
                "status": row.get::<_, String>(6),
                "status_changed_at": row.get::<_, Timestamp>(7),
                "error": row.get::<_, Option<String>>(8),
            })
        })
        .collect();
    let last_inbound_at: Option<Timestamp> = conversation.get(4);
    Ok(Json(json!({
        "conversation": {
            "id": conversation.get::<_, Uuid>(0),
            "status": conversation.get::<_, String>(1),
            "handed_off_until": conversation.get::<_, Option<Timestamp>>(2),
            "handoff_reason": conversation.get::<_, Option<String>>(3),
            "last_inbound_at": last_inbound_at,
            "window_closes_at": closes(last_inbound_at),
            "customer": {
                "id": conversation.get::<_, Uuid>(5),
                "name": conversation.get::<_, Option<String>>(6),
                "phone": conversation.get::<_, Option<String>>(7),
            },
        },
        "messages": messages,
        "older_cursor": older_cursor,
    })))
}

/// Takes a conversation over or gives it back: the request `make` builds, asked of
/// scheduling.
async fn hand(
    state: &Shared,
    caller: &Caller,
    headers: &HeaderMap,
    make: impl FnOnce(Actor, String) -> Request,
) -> ApiResult<Json<ConversationState>> {
    handler(caller)?;
    let request = make(caller.actor(), idempotency_key(headers, false)?);
    match state.schedule(&request).await? {
        Outcome::Conversation { conversation } => Ok(Json(conversation)),
        other => Err(unexpected(request.name(), &other)),
    }
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/conversations/{conversation_id}/take-over", security(("bearer" = [])), tag = "conversations", params(("organization_id" = Uuid, Path), ("conversation_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("view_business_schedule"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn take_over(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, conversation_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<Json<ConversationState>> {
    hand(&state, &caller, &headers, |actor, idempotency_key| {
        Request::TakeOver(TakeOverRequest {
            actor,
            idempotency_key,
            conversation_id,
        })
    })
    .await
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/conversations/{conversation_id}/release", security(("bearer" = [])), tag = "conversations", params(("organization_id" = Uuid, Path), ("conversation_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("view_business_schedule"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn release(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, conversation_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<Json<ConversationState>> {
    hand(&state, &caller, &headers, |actor, idempotency_key| {
        Request::Release(ReleaseRequest {
            actor,
            idempotency_key,
            conversation_id,
        })
    })
    .await
}

/// Free text, or (at any time, and the only way once the window is closed) a template.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    pub text: Option<String>,
    /// `window_fallback`: asks the customer to answer, which opens the window again.
    pub template: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/conversations/{conversation_id}/messages", security(("bearer" = [])), tag = "conversations", params(("organization_id" = Uuid, Path), ("conversation_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "The same key with the same body replays the first answer and sends nothing twice")),
    extensions(("x-cita-permission" = json!("view_business_schedule"))),
    request_body = ReplyBody, responses((status = 202, body = Value), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn reply(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, conversation_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Body(body): Body<ReplyBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    handler(&caller)?;
    let idempotency_key = idempotency_key(&headers, true)?;
    let content = match (body.text, body.template) {
        (Some(body), None) => ReplyContent::Text { body },
        (None, Some(name)) => ReplyContent::Template { name },
        _ => {
            return Err(ApiError::Invalid("send either text or template".into()));
        }
    };
    let outcome = state
        .schedule(&Request::Reply(ReplyRequest {
            actor: caller.actor(),
            idempotency_key,
            conversation_id,
            content,
        }))
        .await?;
    let Outcome::Replied(accepted) = outcome else {
        return Err(unexpected("reply", &outcome));
    };
    // Accepted means sent to outbound: published with confirms before the answer.
    let command_id = accepted.send.command_id;
    state.send(&Command::SendV1(accepted.send)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"command_id": command_id, "conversation": accepted.conversation})),
    ))
}
