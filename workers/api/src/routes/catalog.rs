//! The organization, its services and its team, read under row-level security; services
//! created and changed through scheduling.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use cita_shared::contracts::scheduling::{
    Approval, DepositPolicy, Outcome, Request, UpsertServiceRequest,
};
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::unexpected;
use crate::{
    auth::{Owner, Scoped},
    body::{Body, Path, idempotency_key},
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

/// The free plan's bookings per month.
pub const FREE_PLAN_BOOKINGS: i64 = 50;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub locale: String,
    pub currency: String,
    pub status: String,
    pub plan: Plan,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub name: String,
    /// Bookings made this calendar month (local), of every source and status.
    pub bookings_this_month: i64,
    /// The free plan's monthly allowance; `null` on the paid plan.
    pub monthly_bookings: Option<i64>,
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path)),
    responses((status = 200, body = Organization), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn organization(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
) -> ApiResult<Json<Organization>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let row = tx
        .query_opt(
            "SELECT id, slug, name, timezone, locale, currency, status, plan FROM organizations",
            &[],
        )
        .await?
        .ok_or(ApiError::NotFound("organization"))?;
    let time_zone: String = row.get(3);
    let month_start = month_start(state.clock.now(), &time_zone);
    let bookings: i64 = tx
        .query_one(
            "SELECT count(*) FROM appointments WHERE created_at >= $1",
            &[&month_start],
        )
        .await?
        .get(0);
    tx.commit().await?;
    let plan: String = row.get(7);
    Ok(Json(Organization {
        id: row.get(0),
        slug: row.get(1),
        name: row.get(2),
        time_zone,
        locale: row.get(4),
        currency: row.get(5),
        status: row.get(6),
        plan: Plan {
            monthly_bookings: (plan == "free").then_some(FREE_PLAN_BOOKINGS),
            name: plan,
            bookings_this_month: bookings,
        },
    }))
}

/// The first instant of the local month `now` falls in.
fn month_start(now: Timestamp, time_zone: &str) -> Timestamp {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    let local = now.to_zoned(zone.clone()).date();
    Date::new(local.year(), local.month(), 1)
        .ok()
        .and_then(|first| first.to_zoned(zone).ok())
        .map_or(now, |z| z.timestamp())
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/services", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path)),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn services(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
) -> ApiResult<Json<Value>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let rows = tx
        .query(
            "SELECT s.id, s.name, s.description, s.duration_minutes, s.buffer_minutes, s.price_minor,
                    s.currency, s.active, s.approval_required, s.change_cutoff_minutes,
                    s.deposit_kind, s.deposit_value,
                    coalesce(array_agg(ss.staff_id) FILTER (WHERE ss.staff_id IS NOT NULL), '{}')
             FROM service_types s LEFT JOIN staff_services ss ON ss.service_type_id = s.id
             GROUP BY s.id ORDER BY s.active DESC, s.name",
            &[],
        )
        .await?;
    tx.commit().await?;
    let services: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.get::<_, Uuid>(0),
                "name": row.get::<_, String>(1),
                "description": row.get::<_, Option<String>>(2),
                "duration_minutes": row.get::<_, i32>(3),
                "buffer_minutes": row.get::<_, i32>(4),
                "price_minor": row.get::<_, i64>(5),
                "currency": row.get::<_, String>(6),
                "active": row.get::<_, bool>(7),
                "approval": Approval::from_required(row.get(8)),
                "change_cutoff_minutes": row.get::<_, Option<i32>>(9),
                "deposit": row.get::<_, Option<&str>>(10).and_then(|kind| {
                    DepositPolicy::from_columns(kind, row.get::<_, Option<i64>>(11).unwrap_or(0))
                }),
                "staff_ids": row.get::<_, Vec<Uuid>>(12),
            })
        })
        .collect();
    Ok(Json(json!({ "services": services })))
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/staff", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path)),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn staff(State(state): State<Shared>, Scoped(caller): Scoped) -> ApiResult<Json<Value>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let rows = tx
        .query(
            "SELECT s.id, s.name, s.phone, s.role, s.permissions, s.active,
                    coalesce(array_agg(ss.service_type_id) FILTER (WHERE ss.service_type_id IS NOT NULL), '{}')
             FROM staff s LEFT JOIN staff_services ss ON ss.staff_id = s.id
             GROUP BY s.id ORDER BY s.active DESC, s.role = 'owner' DESC, s.name",
            &[],
        )
        .await?;
    tx.commit().await?;
    let staff: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.get::<_, Uuid>(0),
                "name": row.get::<_, String>(1),
                "phone": row.get::<_, Option<String>>(2),
                "role": row.get::<_, String>(3),
                "permissions": row.get::<_, Vec<String>>(4),
                "active": row.get::<_, bool>(5),
                "service_type_ids": row.get::<_, Vec<Uuid>>(6),
            })
        })
        .collect();
    Ok(Json(json!({ "staff": staff })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    /// Required for a new service.
    pub name: Option<String>,
    pub description: Option<String>,
    /// 5 to 720; required for a new service.
    pub duration_minutes: Option<u32>,
    /// Minutes kept free after it (cleaning, preparation), 0 to 240.
    pub buffer_minutes: Option<u32>,
    /// In minor units (centavos) of the organization's currency; required for a new service.
    pub price_minor: Option<i64>,
    /// `false` retires it: no longer bookable, its history stays.
    pub active: Option<bool>,
    /// Who performs it (active staff ids), replacing the current set; a new service
    /// without it is everyone's.
    pub staff_ids: Option<Vec<Uuid>>,
    /// business (as the settings say), required or immediate: whether customers'
    /// bookings of it wait for approval.
    #[schema(value_type = Option<String>)]
    pub approval: Option<Approval>,
    /// Minutes before an appointment of it when customers can no longer move or cancel
    /// it, 0 to 10080; `null` follows the organization's setting; absent leaves it.
    #[serde(default, deserialize_with = "cita_shared::contracts::present")]
    #[schema(value_type = Option<u32>)]
    pub change_cutoff_minutes: Option<Option<u32>>,
    /// What customers pay first to confirm it, as in the settings' `deposit`; `null`
    /// follows the organization's; absent leaves it.
    #[serde(default, deserialize_with = "cita_shared::contracts::present")]
    #[schema(value_type = Option<Object>)]
    pub deposit: Option<Option<DepositPolicy>>,
}

fn upsert(
    caller: &crate::auth::Caller,
    idempotency_key: String,
    service_type_id: Option<Uuid>,
    body: ServiceBody,
) -> Request {
    Request::UpsertService(UpsertServiceRequest {
        actor: caller.actor(),
        idempotency_key,
        service_type_id,
        name: body.name,
        description: body.description,
        duration_minutes: body.duration_minutes,
        price_minor: body.price_minor,
        buffer_minutes: body.buffer_minutes,
        active: body.active,
        staff_ids: body.staff_ids,
        approval: body.approval,
        change_cutoff_minutes: body.change_cutoff_minutes,
        deposit: body.deposit,
    })
}

fn service(outcome: Outcome) -> ApiResult<Json<Value>> {
    match outcome {
        Outcome::Service { service } => Ok(Json(json!(service))),
        other => Err(unexpected("upsert_service", &other)),
    }
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/services", security(("bearer" = [])), tag = "organization",
    params(("organization_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "The same key with the same body replays the first answer")),
    extensions(("x-cita-permission" = json!("owner"))),
    request_body = ServiceBody,
    responses((status = 201, body = Value), (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn create_service(
    State(state): State<Shared>,
    Owner(caller): Owner,
    headers: HeaderMap,
    Body(body): Body<ServiceBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let request = upsert(&caller, idempotency_key(&headers, true)?, None, body);
    Ok((
        StatusCode::CREATED,
        service(state.schedule(&request).await?)?,
    ))
}

#[utoipa::path(patch, path = "/v1/organizations/{organization_id}/services/{service_type_id}", security(("bearer" = [])), tag = "organization",
    params(("organization_id" = Uuid, Path), ("service_type_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("owner"))),
    request_body = ServiceBody,
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn update_service(
    State(state): State<Shared>,
    Owner(caller): Owner,
    Path((_, service_type_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Body(body): Body<ServiceBody>,
) -> ApiResult<Json<Value>> {
    let request = upsert(
        &caller,
        idempotency_key(&headers, false)?,
        Some(service_type_id),
        body,
    );
    service(state.schedule(&request).await?)
}
