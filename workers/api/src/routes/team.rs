//! The team and the week: members added and removed, their hours and permissions, and
//! the business's opening hours. Owner only; scheduling checks it again.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use cita_shared::contracts::scheduling::{
    AddStaffRequest, BusinessHoursRequest, DayHours, Interval, Outcome, RemoveStaffRequest,
    Request, StaffHoursRequest, StaffPermissionsRequest,
};
use jiff::civil::Time;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_postgres::Row;
use uuid::Uuid;

use super::unexpected;
use crate::{
    auth::{Owner, Scoped, codes::e164},
    body::{Body, Path, idempotency_key},
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekBody {
    /// Weekdays are ISO: 1 = Monday … 7 = Sunday. A day without intervals is closed.
    pub days: Vec<DayBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayBody {
    pub weekday: u8,
    pub intervals: Vec<IntervalBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntervalBody {
    /// Local time, "10:00".
    #[schema(value_type = String)]
    pub opens: Time,
    #[schema(value_type = String)]
    pub closes: Time,
}

fn days(body: WeekBody) -> Vec<DayHours> {
    body.days
        .into_iter()
        .map(|d| DayHours {
            weekday: d.weekday,
            intervals: d
                .intervals
                .into_iter()
                .map(|i| Interval {
                    opens: i.opens,
                    closes: i.closes,
                })
                .collect(),
        })
        .collect()
}

/// Rows of (weekday, from, to) as the seven days of a week.
fn week(rows: &[Row]) -> Value {
    let days: Vec<Value> = (1..=7i16)
        .map(|weekday| {
            let intervals: Vec<Value> = rows
                .iter()
                .filter(|r| r.get::<_, i16>(0) == weekday)
                .map(|r| json!({ "opens": r.get::<_, Time>(1), "closes": r.get::<_, Time>(2) }))
                .collect();
            json!({ "weekday": weekday, "intervals": intervals })
        })
        .collect();
    json!({ "days": days })
}

fn hours(outcome: Outcome, request: &str) -> ApiResult<Json<Value>> {
    match outcome {
        Outcome::Hours { days } => Ok(Json(json!({ "days": days }))),
        other => Err(unexpected(request, &other)),
    }
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/hours", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path)),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn business_hours(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
) -> ApiResult<Json<Value>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let rows = tx
        .query(
            "SELECT weekday, opens_at, closes_at FROM business_hours ORDER BY weekday, opens_at",
            &[],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(week(&rows)))
}

#[utoipa::path(put, path = "/v1/organizations/{organization_id}/hours", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("owner"))),
    request_body = WeekBody,
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn set_business_hours(
    State(state): State<Shared>,
    Owner(caller): Owner,
    headers: HeaderMap,
    Body(body): Body<WeekBody>,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::SetBusinessHours(BusinessHoursRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            days: days(body),
        }))
        .await?;
    hours(outcome, "set_business_hours")
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/staff/{staff_id}/hours", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path), ("staff_id" = Uuid, Path)),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn staff_hours(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, staff_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<Value>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let known = tx
        .query_opt("SELECT 1 FROM staff WHERE id = $1", &[&staff_id])
        .await?;
    if known.is_none() {
        return Err(ApiError::NotFound("staff member"));
    }
    let rows = tx
        .query(
            "SELECT weekday, starts_at, ends_at FROM staff_working_hours
             WHERE staff_id = $1 ORDER BY weekday, starts_at",
            &[&staff_id],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(week(&rows)))
}

#[utoipa::path(put, path = "/v1/organizations/{organization_id}/staff/{staff_id}/hours", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path), ("staff_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("owner"))),
    request_body = WeekBody,
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn set_staff_hours(
    State(state): State<Shared>,
    Owner(caller): Owner,
    Path((_, staff_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Body(body): Body<WeekBody>,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::SetStaffHours(StaffHoursRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            staff_id,
            days: days(body),
        }))
        .await?;
    hours(outcome, "set_staff_hours")
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionsBody {
    /// view_business_schedule, manage_appointments.
    pub permissions: Vec<String>,
}

#[utoipa::path(put, path = "/v1/organizations/{organization_id}/staff/{staff_id}/permissions", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path), ("staff_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("owner"))),
    request_body = PermissionsBody,
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn set_permissions(
    State(state): State<Shared>,
    Owner(caller): Owner,
    Path((_, staff_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Body(body): Body<PermissionsBody>,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::SetStaffPermissions(StaffPermissionsRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            staff_id,
            permissions: body.permissions,
        }))
        .await?;
    member(outcome, "set_staff_permissions")
}

fn member(outcome: Outcome, request: &str) -> ApiResult<Json<Value>> {
    match outcome {
        Outcome::Staff { staff } => Ok(Json(json!(staff))),
        other => Err(unexpected(request, &other)),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemberBody {
    pub name: String,
    /// E.164, "+525511110003": their WhatsApp, from which they manage the day.
    pub phone: String,
    /// The services they perform; every active one without it.
    pub service_type_ids: Option<Vec<Uuid>>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/staff", security(("bearer" = [])), tag = "organization",
    params(("organization_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "The same key with the same body replays the first answer")),
    extensions(("x-cita-permission" = json!("owner"))),
    request_body = NewMemberBody,
    responses((status = 201, body = Value), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn add_member(
    State(state): State<Shared>,
    Owner(caller): Owner,
    headers: HeaderMap,
    Body(body): Body<NewMemberBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let outcome = state
        .schedule(&Request::AddStaff(AddStaffRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, true)?,
            name: body.name,
            phone: e164(&body.phone)?,
            service_type_ids: body.service_type_ids,
        }))
        .await?;
    Ok((StatusCode::CREATED, member(outcome, "add_staff")?))
}

#[utoipa::path(delete, path = "/v1/organizations/{organization_id}/staff/{staff_id}", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path), ("staff_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("owner"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn remove_member(
    State(state): State<Shared>,
    Owner(caller): Owner,
    Path((_, staff_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::RemoveStaff(RemoveStaffRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            staff_id,
        }))
        .await?;
    member(outcome, "remove_staff")
}
