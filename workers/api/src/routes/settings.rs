//! The organization's settings, under optimistic concurrency (`ETag` / `If-Match`), and
//! what it tells customers about itself.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use cita_shared::contracts::scheduling::{
    AssistantMode, BusinessInfo, DepositPolicy, FaqEntry, LocationInfo, Outcome, Request, Settings,
    UpdateBusinessInfoRequest, UpdateSettingsRequest,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::unexpected;
use crate::{
    auth::{Owner, Scoped},
    body::{Body, idempotency_key},
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

/// The settings as the API shows and takes them.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Reminders this many minutes before an appointment (at most 4).
    pub reminder_offsets_minutes: Vec<u32>,
    /// A review request this long after a completed appointment; `null`: never.
    pub review_request_after_minutes: Option<u32>,
    /// `https://…`, included in the review request.
    pub review_link: Option<String>,
    /// ai, guided or ai_with_guided_fallback.
    #[schema(value_type = String)]
    pub assistant_mode: AssistantMode,
    pub handoff_minutes: u32,
    /// Customers may move or cancel until this long before; 0: until it starts.
    pub change_cutoff_minutes: u32,
    /// Customers' bookings wait for the owner's approval (services may say otherwise).
    #[serde(default)]
    pub approval_required: bool,
    /// How long a booking waits for approval before its time is freed, 5 to 10080.
    #[serde(default = "default_hold_minutes")]
    pub hold_minutes: u32,
    /// What customers' bookings pay first: `{"kind": "none"}`, `{"kind": "fixed",
    /// "amount_minor": 10000}` or `{"kind": "percent", "percent": 30}`. Anything but none
    /// needs the business's Mercado Pago account connected.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub deposit: DepositPolicy,
    /// A no-show keeps the paid deposit (the default); `false` gives it back.
    #[serde(default = "forfeits")]
    pub no_show_forfeits: bool,
}

fn forfeits() -> bool {
    true
}

fn default_hold_minutes() -> u32 {
    cita_shared::contracts::scheduling::DEFAULT_HOLD_MINUTES
}

impl From<Settings> for SettingsBody {
    fn from(s: Settings) -> Self {
        SettingsBody {
            reminder_offsets_minutes: s.reminder_offsets_minutes,
            review_request_after_minutes: s.review_request_after_minutes,
            review_link: s.review_link,
            assistant_mode: s.assistant_mode,
            handoff_minutes: s.handoff_minutes,
            change_cutoff_minutes: s.change_cutoff_minutes,
            approval_required: s.approval_required,
            hold_minutes: s.hold_minutes,
            deposit: s.deposit,
            no_show_forfeits: s.no_show_forfeits,
        }
    }
}

impl From<SettingsBody> for Settings {
    fn from(s: SettingsBody) -> Self {
        Settings {
            reminder_offsets_minutes: s.reminder_offsets_minutes,
            review_request_after_minutes: s.review_request_after_minutes,
            review_link: s.review_link,
            assistant_mode: s.assistant_mode,
            handoff_minutes: s.handoff_minutes,
            change_cutoff_minutes: s.change_cutoff_minutes,
            approval_required: s.approval_required,
            hold_minutes: s.hold_minutes,
            deposit: s.deposit,
            no_show_forfeits: s.no_show_forfeits,
        }
    }
}

fn with_etag(body: SettingsBody, version: i64) -> Response {
    let mut response = Json(body).into_response();
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// The version an `If-Match` names: `"7"` (as the ETag gave it) or `W/"7"`.
fn if_match(headers: &HeaderMap) -> ApiResult<i64> {
    let value = headers
        .get(header::IF_MATCH)
        .ok_or_else(|| {
            ApiError::PreconditionRequired(
                "send If-Match with the ETag of the settings you read".into(),
            )
        })?
        .to_str()
        .map_err(|_| ApiError::BadRequest("If-Match is not text".into()))?;
    value
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| ApiError::BadRequest("If-Match is not an ETag this API gave".into()))
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/settings", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path)),
    responses((status = 200, body = SettingsBody, headers(("ETag" = String))), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn get_settings(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
) -> ApiResult<Response> {
    let (settings, version) = settings(&state, caller.organization_id).await?;
    Ok(with_etag(settings.into(), version))
}

/// The organization's settings as stored, with the version an update must name.
pub(crate) async fn settings(state: &Shared, organization_id: Uuid) -> ApiResult<(Settings, i64)> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, organization_id).await?;
    let row = tx
        .query_opt(
            "SELECT reminder_offsets_minutes, review_request_after_minutes, review_link,
                    assistant_mode, handoff_minutes, change_cutoff_minutes, settings_version,
                    approval_required, hold_minutes, deposit_kind, deposit_value, no_show_forfeits
             FROM organizations",
            &[],
        )
        .await?
        .ok_or(ApiError::NotFound("organization"))?;
    tx.commit().await?;
    let minutes = |m: i32| u32::try_from(m).unwrap_or(0);
    let mode: String = row.get(3);
    let settings = Settings {
        reminder_offsets_minutes: row.get::<_, Vec<i32>>(0).into_iter().map(minutes).collect(),
        review_request_after_minutes: row.get::<_, Option<i32>>(1).map(minutes),
        review_link: row.get(2),
        assistant_mode: AssistantMode::parse(&mode).unwrap_or(AssistantMode::AiWithGuidedFallback),
        handoff_minutes: minutes(row.get(4)),
        change_cutoff_minutes: minutes(row.get(5)),
        approval_required: row.get(7),
        hold_minutes: minutes(row.get(8)),
        deposit: DepositPolicy::from_columns(row.get(9), row.get(10)).unwrap_or_default(),
        no_show_forfeits: row.get(11),
    };
    Ok((settings, row.get(6)))
}

#[utoipa::path(put, path = "/v1/organizations/{organization_id}/settings", security(("bearer" = [])), tag = "organization",
    params(("organization_id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag of the settings being replaced")),
    extensions(("x-cita-permission" = json!("owner"))),
    request_body = SettingsBody,
    responses((status = 200, body = SettingsBody, headers(("ETag" = String))), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 412, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 428, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn put_settings(
    State(state): State<Shared>,
    Owner(caller): Owner,
    headers: HeaderMap,
    Body(body): Body<SettingsBody>,
) -> ApiResult<Response> {
    let expected_version = if_match(&headers)?;
    let outcome = state
        .schedule(&Request::UpdateSettings(UpdateSettingsRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            expected_version,
            settings: body.into(),
        }))
        .await?;
    match outcome {
        Outcome::Settings { settings, version } => Ok(with_etag(settings.into(), version)),
        other => Err(unexpected("update_settings", &other)),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessBody {
    pub description: Option<String>,
    /// "efectivo", "tarjeta", "transferencia", …
    pub payment_methods: Vec<String>,
    /// Every location to change, by id (see the GET).
    pub locations: Vec<LocationBody>,
    /// Replaces every question, in this order.
    pub faq: Vec<FaqBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub directions: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaqBody {
    pub question: String,
    pub answer: String,
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/business", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path)),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn get_business(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        business_info(&state, caller.organization_id).await?
    )))
}

/// What the organization tells customers about itself, as stored.
pub(crate) async fn business_info(
    state: &Shared,
    organization_id: Uuid,
) -> ApiResult<BusinessInfo> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, organization_id).await?;
    let org = tx
        .query_opt(
            "SELECT description, payment_methods FROM organizations",
            &[],
        )
        .await?
        .ok_or(ApiError::NotFound("organization"))?;
    let locations = tx
        .query(
            "SELECT id, name, address, directions FROM locations ORDER BY created_at, id",
            &[],
        )
        .await?;
    let faq = tx
        .query(
            "SELECT question, answer FROM faq_entries ORDER BY position",
            &[],
        )
        .await?;
    tx.commit().await?;
    let info = BusinessInfo {
        description: org.get(0),
        payment_methods: org.get(1),
        locations: locations
            .iter()
            .map(|r| LocationInfo {
                id: r.get(0),
                name: r.get(1),
                address: r.get(2),
                directions: r.get(3),
            })
            .collect(),
        faq: faq
            .iter()
            .map(|r| FaqEntry {
                question: r.get(0),
                answer: r.get(1),
            })
            .collect(),
    };
    Ok(info)
}

#[utoipa::path(put, path = "/v1/organizations/{organization_id}/business", security(("bearer" = [])), tag = "organization", params(("organization_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("owner"))),
    request_body = BusinessBody,
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn put_business(
    State(state): State<Shared>,
    Owner(caller): Owner,
    headers: HeaderMap,
    Body(body): Body<BusinessBody>,
) -> ApiResult<Json<Value>> {
    let info = BusinessInfo {
        description: body.description,
        payment_methods: body.payment_methods,
        locations: body
            .locations
            .into_iter()
            .map(|l| LocationInfo {
                id: l.id,
                name: l.name,
                address: l.address,
                directions: l.directions,
            })
            .collect(),
        faq: body
            .faq
            .into_iter()
            .map(|e| FaqEntry {
                question: e.question,
                answer: e.answer,
            })
            .collect(),
    };
    let outcome = state
        .schedule(&Request::UpdateBusinessInfo(UpdateBusinessInfoRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            info,
        }))
        .await?;
    match outcome {
        Outcome::Business { info } => Ok(Json(json!(info))),
        other => Err(unexpected("update_business_info", &other)),
    }
}
