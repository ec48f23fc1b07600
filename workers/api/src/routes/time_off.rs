//! Time nobody can book: blocks, days off, closures and holidays. Listed here under
//! row-level security; made and removed by scheduling, under the chat's rules.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use cita_shared::contracts::scheduling::{
    AddClosureRequest, BlockTimeRequest, Outcome, RemoveTimeOffRequest, Request, TimeOffKind,
    permissions::VIEW_BUSINESS_SCHEDULE,
};
use jiff::{Timestamp, civil::Date};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::unexpected;
use crate::{
    auth::Scoped,
    body::{Body, Path, Query, idempotency_key},
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimeOffQuery {
    /// RFC 3339 with an offset: time off that ends after.
    pub from: Timestamp,
    /// Time off that starts before.
    pub to: Timestamp,
    /// One member's (and the business's); everyone's without it.
    pub staff_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/time-off", security(("bearer" = [])), tag = "time off", params(("organization_id" = Uuid, Path), TimeOffQuery),
    extensions(("x-cita-permission" = json!("view_business_schedule"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn list(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Query(query): Query<TimeOffQuery>,
) -> ApiResult<Json<Value>> {
    if query.staff_id != Some(caller.staff_id) {
        caller.require(VIEW_BUSINESS_SCHEDULE)?;
    }
    if query.from >= query.to {
        return Err(ApiError::Invalid("from must be before to".into()));
    }
    if query.to.duration_since(query.from) > jiff::SignedDuration::from_hours(24 * 400) {
        return Err(ApiError::Invalid("a range is at most 400 days".into()));
    }
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let rows = tx
        .query(
            "SELECT id, staff_id, kind, lower(during), upper(during), reason
             FROM availability_exceptions
             WHERE during && tstzrange($1, $2)
               AND ($3::uuid IS NULL OR staff_id = $3 OR staff_id IS NULL)
             ORDER BY lower(during), id LIMIT 500",
            &[&query.from, &query.to, &query.staff_id],
        )
        .await?;
    tx.commit().await?;
    let time_off: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<_, Uuid>(0),
                "staff_id": r.get::<_, Option<Uuid>>(1),
                "kind": r.get::<_, String>(2),
                "starts_at": r.get::<_, Timestamp>(3),
                "ends_at": r.get::<_, Timestamp>(4),
                "reason": r.get::<_, Option<String>>(5),
            })
        })
        .collect();
    Ok(Json(json!({ "time_off": time_off })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosureBody {
    /// A member's days off; the whole business's (owner only) without it.
    pub staff_id: Option<Uuid>,
    /// time_off, closure or holiday.
    #[schema(value_type = String)]
    pub kind: TimeOffKind,
    /// First local day, in the organization's zone.
    pub from: Date,
    /// Last local day, inclusive.
    pub to: Date,
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/closures", security(("bearer" = [])), tag = "time off",
    params(("organization_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "The same key with the same body replays the first answer")),
    request_body = ClosureBody,
    responses((status = 201, body = Value), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn add_closure(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    headers: HeaderMap,
    Body(body): Body<ClosureBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let outcome = state
        .schedule(&Request::AddClosure(AddClosureRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, true)?,
            staff_id: body.staff_id,
            kind: body.kind,
            from: body.from,
            to: body.to,
            reason: body.reason,
        }))
        .await?;
    match outcome {
        Outcome::TimeOff {
            time_off,
            live_appointments,
        } => Ok((
            StatusCode::CREATED,
            Json(json!({ "time_off": time_off, "live_appointments": live_appointments })),
        )),
        other => Err(unexpected("add_closure", &other)),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    pub staff_id: Uuid,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/blocks", security(("bearer" = [])), tag = "time off",
    params(("organization_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "The same key with the same body replays the first answer")),
    request_body = BlockBody,
    responses((status = 201, body = Value), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn block(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    headers: HeaderMap,
    Body(body): Body<BlockBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let outcome = state
        .schedule(&Request::BlockTime(BlockTimeRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, true)?,
            staff_id: body.staff_id,
            starts_at: body.starts_at,
            ends_at: body.ends_at,
            reason: body.reason,
        }))
        .await?;
    match outcome {
        Outcome::Blocked { block_id } => Ok((StatusCode::CREATED, Json(json!({ "id": block_id })))),
        other => Err(unexpected("block_time", &other)),
    }
}

#[utoipa::path(delete, path = "/v1/organizations/{organization_id}/time-off/{time_off_id}", security(("bearer" = [])), tag = "time off",
    params(("organization_id" = Uuid, Path), ("time_off_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn remove(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, time_off_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let outcome = state
        .schedule(&Request::RemoveTimeOff(RemoveTimeOffRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            time_off_id,
        }))
        .await?;
    match outcome {
        Outcome::Removed { .. } => Ok(StatusCode::NO_CONTENT),
        other => Err(unexpected("remove_time_off", &other)),
    }
}
