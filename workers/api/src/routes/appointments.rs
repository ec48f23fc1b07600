//! Appointments: the list is read here under row-level security; free times, bookings,
//! moves, cancellations and status changes are asked of scheduling, which authorizes and
//! writes them exactly as it does for the chat.

use axum::{
    Json,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use cita_shared::contracts::scheduling::{
    AvailabilityRequest, BookRequest, CancelRequest, DecideHoldRequest, Outcome, Request,
    RescheduleRequest, SetStatusRequest, Source, Status, WalkInRequest,
    permissions::VIEW_BUSINESS_SCHEDULE,
};
use jiff::{Timestamp, civil::Date};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::unexpected;
use crate::{
    auth::{Scoped, codes::e164},
    body::{Body, Path, Query, idempotency_key},
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

const PAGE_DEFAULT: i64 = 50;
const PAGE_MAX: i64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// RFC 3339 with an offset: appointments starting at or after.
    pub from: Timestamp,
    /// Appointments starting before.
    pub to: Timestamp,
    pub staff_id: Option<Uuid>,
    /// pending, confirmed, completed, cancelled or no_show.
    #[param(value_type = Option<String>)]
    pub status: Option<Status>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// One appointment of a list; typed, since building a `Value` per field costs more than
/// the query (`make bench`).
#[derive(Debug, serde::Serialize)]
struct Listed {
    id: Uuid,
    starts_at: Timestamp,
    ends_at: Timestamp,
    status: String,
    source: String,
    staff_id: Uuid,
    service_type_id: Uuid,
    customer: CustomerRef,
    notes: Option<String>,
    price_minor: Option<i64>,
    currency: Option<String>,
    /// A hold (`pending`) is freed then unless approved first.
    #[serde(skip_serializing_if = "Option::is_none")]
    hold_expires_at: Option<Timestamp>,
}

#[derive(Debug, serde::Serialize)]
pub struct Page {
    appointments: Vec<Listed>,
    /// Where the next page starts; `null` on the last one.
    next_cursor: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct CustomerRef {
    id: Uuid,
    name: Option<String>,
    phone: Option<String>,
}

/// Where the previous page ended: its last appointment's start and id.
fn decode_cursor(cursor: &str) -> ApiResult<(Timestamp, Uuid)> {
    let invalid = || ApiError::Invalid("cursor is not one this API gave".into());
    let text = B64.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(text).map_err(|_| invalid())?;
    let (at, id) = text.split_once('|').ok_or_else(invalid)?;
    Ok((
        at.parse().map_err(|_| invalid())?,
        id.parse().map_err(|_| invalid())?,
    ))
}

fn encode_cursor(at: Timestamp, id: Uuid) -> String {
    B64.encode(format!("{at}|{id}"))
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/appointments", security(("bearer" = [])), tag = "appointments", params(("organization_id" = Uuid, Path), ListQuery),
    extensions(("x-cita-permission" = json!("view_business_schedule"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn list(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    RawQuery(raw): RawQuery,
    Query(query): Query<ListQuery>,
) -> ApiResult<Response> {
    if query.staff_id != Some(caller.staff_id) {
        caller.require(VIEW_BUSINESS_SCHEDULE)?;
    }
    if query.from >= query.to {
        return Err(ApiError::Invalid("from must be before to".into()));
    }
    if query.to.duration_since(query.from) > jiff::SignedDuration::from_hours(24 * 62) {
        return Err(ApiError::Invalid("a range is at most 62 days".into()));
    }
    let limit = query.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::Invalid(format!("limit is 1 to {PAGE_MAX}")));
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let (after_at, after_id) = after.unzip();
    let status = query.status.map(Status::as_str);
    let organization_id = caller.organization_id;
    let key = raw.unwrap_or_default();
    if let Some(list) = state.reads.get(organization_id, &key) {
        return Ok(json_bytes(list));
    }
    let ticket = state.reads.ticket(organization_id);
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let statement = tx
        .prepare_cached(
            "SELECT a.id, a.starts_at, a.ends_at, a.status, a.source, a.staff_id, a.service_type_id,
                    a.customer_id, c.name, c.phone, a.notes, a.price_minor, a.currency,
                    a.hold_expires_at
             FROM appointments a JOIN customers c ON c.id = a.customer_id
             WHERE a.starts_at >= $1 AND a.starts_at < $2
               AND ($3::uuid IS NULL OR a.staff_id = $3)
               AND ($4::text IS NULL OR a.status = $4)
               AND ($5::timestamptz IS NULL OR (a.starts_at, a.id) > ($5, $6::uuid))
             ORDER BY a.starts_at, a.id LIMIT $7",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &query.from,
                &query.to,
                &query.staff_id,
                &status,
                &after_at,
                &after_id,
                &(limit + 1),
            ],
        )
        .await?;
    tx.commit().await?;
    let more = rows.len() as i64 > limit;
    let page = &rows[..rows.len().min(limit as usize)];
    let next_cursor = more
        .then(|| page.last())
        .flatten()
        .map(|row| encode_cursor(row.get(1), row.get(0)));
    let appointments: Vec<Listed> = page
        .iter()
        .map(|row| Listed {
            id: row.get(0),
            starts_at: row.get(1),
            ends_at: row.get(2),
            status: row.get(3),
            source: row.get(4),
            staff_id: row.get(5),
            service_type_id: row.get(6),
            customer: CustomerRef {
                id: row.get(7),
                name: row.get(8),
                phone: row.get(9),
            },
            notes: row.get(10),
            price_minor: row.get(11),
            currency: row.get(12),
            hold_expires_at: row.get(13),
        })
        .collect();
    let list = Bytes::from(
        serde_json::to_vec(&Page {
            appointments,
            next_cursor,
        })
        .expect("a page serializes"),
    );
    if let Some(ticket) = ticket {
        state.reads.put(ticket, &key, list.clone());
    }
    Ok(json_bytes(list))
}

fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) fn appointment(outcome: Outcome) -> ApiResult<Json<Value>> {
    match outcome {
        Outcome::Appointment { appointment } => Ok(Json(json!(appointment))),
        other => Err(unexpected("appointment", &other)),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookBody {
    pub service_type_id: Uuid,
    pub starts_at: Timestamp,
    pub staff_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    /// E.164; found under any form, or created with `customer_name`.
    pub customer_phone: Option<String>,
    pub customer_name: Option<String>,
    pub notes: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/appointments", security(("bearer" = [])), tag = "appointments", params(("organization_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "The same key with the same body replays the first answer")),
    request_body = BookBody, responses((status = 201, body = Value), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn book(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    headers: HeaderMap,
    Body(body): Body<BookBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let idempotency_key = idempotency_key(&headers, true)?;
    let customer_phone = body.customer_phone.as_deref().map(e164).transpose()?;
    if body.customer_id.is_none() && customer_phone.is_none() {
        return Err(ApiError::Invalid(
            "customer_id or customer_phone is required".into(),
        ));
    }
    let outcome = state
        .schedule(&Request::Book(BookRequest {
            actor: caller.actor(),
            idempotency_key,
            service_type_id: body.service_type_id,
            starts_at: body.starts_at,
            staff_id: body.staff_id,
            customer_id: body.customer_id,
            customer_phone,
            customer_name: body.customer_name,
            source: Source::Web,
            notes: body.notes,
        }))
        .await?;
    Ok((StatusCode::CREATED, appointment(outcome)?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkInBody {
    pub service_type_id: Uuid,
    /// Who takes them; the caller by default.
    pub staff_id: Option<Uuid>,
    pub customer_name: Option<String>,
    /// E.164, if the customer gave a number.
    pub customer_phone: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/walk-ins", security(("bearer" = [])), tag = "appointments", params(("organization_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "The same key with the same body replays the first answer")),
    request_body = WalkInBody, responses((status = 201, body = Value), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn walk_in(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    headers: HeaderMap,
    Body(body): Body<WalkInBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let idempotency_key = idempotency_key(&headers, true)?;
    let customer_phone = body.customer_phone.as_deref().map(e164).transpose()?;
    let outcome = state
        .schedule(&Request::BookWalkIn(WalkInRequest {
            actor: caller.actor(),
            idempotency_key,
            service_type_id: body.service_type_id,
            staff_id: body.staff_id,
            customer_name: body.customer_name,
            customer_phone,
        }))
        .await?;
    Ok((StatusCode::CREATED, appointment(outcome)?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/appointments/{appointment_id}/cancel", security(("bearer" = [])), tag = "appointments", params(("organization_id" = Uuid, Path), ("appointment_id" = Uuid, Path)),
    request_body = CancelBody, responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn cancel(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, appointment_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Body(body): Body<CancelBody>,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::Cancel(CancelRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            appointment_id,
            reason: body.reason,
        }))
        .await?;
    appointment(outcome)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    pub starts_at: Timestamp,
    pub staff_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/appointments/{appointment_id}/move", security(("bearer" = [])), tag = "appointments", params(("organization_id" = Uuid, Path), ("appointment_id" = Uuid, Path)),
    request_body = MoveBody, responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn reschedule(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, appointment_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Body(body): Body<MoveBody>,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::Reschedule(RescheduleRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            appointment_id,
            starts_at: body.starts_at,
            staff_id: body.staff_id,
        }))
        .await?;
    appointment(outcome)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// confirmed, completed or no_show.
    #[schema(value_type = String)]
    pub status: Status,
    pub notes: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/appointments/{appointment_id}/status", security(("bearer" = [])), tag = "appointments", params(("organization_id" = Uuid, Path), ("appointment_id" = Uuid, Path)),
    request_body = StatusBody, responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn set_status(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, appointment_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Body(body): Body<StatusBody>,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::SetStatus(SetStatusRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            appointment_id,
            status: body.status,
            notes: body.notes,
        }))
        .await?;
    appointment(outcome)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `true` confirms the hold; `false` rejects it and frees its time.
    pub approve: bool,
    /// Told to the customer with a rejection.
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/appointments/{appointment_id}/decision", security(("bearer" = [])), tag = "appointments", params(("organization_id" = Uuid, Path), ("appointment_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "The same key with the same body replays the first answer")),
    request_body = DecisionBody, responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn decide(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, appointment_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Body(body): Body<DecisionBody>,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::DecideHold(DecideHoldRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            appointment_id,
            approve: body.approve,
            reason: body.reason,
        }))
        .await?;
    appointment(outcome)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    pub service_type_id: Uuid,
    /// A local date in the organization's zone.
    pub date: Date,
    pub staff_id: Option<Uuid>,
    /// The appointment being moved: its own time is not counted as taken.
    pub moving: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/availability", security(("bearer" = [])), tag = "appointments", params(("organization_id" = Uuid, Path), AvailabilityQuery),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn availability(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Query(query): Query<AvailabilityQuery>,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::Availability(AvailabilityRequest {
            actor: caller.actor(),
            service_type_id: query.service_type_id,
            from: query.date,
            to: query.date,
            staff_id: query.staff_id,
            moving: query.moving,
        }))
        .await?;
    match outcome {
        Outcome::Slots { slots } => Ok(Json(json!({ "slots": slots }))),
        other => Err(unexpected("availability", &other)),
    }
}
