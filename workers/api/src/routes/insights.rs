//! What the owner looks back on: the figures of a range, and the audit log of every
//! change people made, through the API or the chat.

use axum::{Json, extract::State};
use cita_shared::contracts::scheduling::{FiguresRequest, Outcome, Request};
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::unexpected;
use crate::{
    auth::Owner,
    body::Query,
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

const AUDIT_PAGE_MAX: i64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// First local day, in the organization's zone.
    pub from: Date,
    /// Last local day, inclusive.
    pub to: Date,
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/figures", security(("bearer" = [])), tag = "insights", params(("organization_id" = Uuid, Path), FiguresQuery),
    extensions(("x-cita-permission" = json!("owner"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn figures(
    State(state): State<Shared>,
    Owner(caller): Owner,
    Query(query): Query<FiguresQuery>,
) -> ApiResult<Json<Value>> {
    if query.to < query.from {
        return Err(ApiError::Invalid("to is before from".into()));
    }
    if query
        .from
        .until(query.to)
        .map_or(true, |span| span.get_days() > 366)
    {
        return Err(ApiError::Invalid("a range is at most 366 days".into()));
    }
    let outcome = state
        .schedule(&Request::Figures(FiguresRequest {
            actor: caller.actor(),
            from: query.from,
            to: query.to,
        }))
        .await?;
    let Outcome::Figures { figures } = outcome else {
        return Err(unexpected("figures", &outcome));
    };
    // What the assistant cost over the same local days, read here: it is the
    // conversation's bookkeeping, not scheduling's.
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let zone: String = tx
        .query_one("SELECT timezone FROM organizations", &[])
        .await?
        .get(0);
    let (start, end) = local_days(&zone, query.from, query.to)?;
    let ai = tx
        .query_one(
            "SELECT COALESCE(sum(cost_micro_usd), 0)::bigint, count(*)::bigint FROM ai_usage
             WHERE created_at >= $1 AND created_at < $2",
            &[&start, &end],
        )
        .await?;
    tx.commit().await?;
    let decided = figures.completed + figures.no_shows;
    let no_show_rate = (decided > 0).then(|| f64::from(figures.no_shows) / f64::from(decided));
    Ok(Json(json!({
        "from": query.from,
        "to": query.to,
        "appointments": figures.appointments,
        "completed": figures.completed,
        "no_shows": figures.no_shows,
        "cancelled": figures.cancelled,
        "no_show_rate": no_show_rate,
        "revenue_minor": figures.revenue_minor,
        "currency": figures.currency,
        "busiest_hours": figures.busiest_hours,
        "by_service": figures.by_service,
        "ai": {
            "cost_micro_usd": ai.get::<_, i64>(0),
            "requests": ai.get::<_, i64>(1),
        },
    })))
}

/// The instants local days `from`…`to` (inclusive) span in `zone`.
fn local_days(zone: &str, from: Date, to: Date) -> ApiResult<(Timestamp, Timestamp)> {
    let zone = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    let invalid = |e: jiff::Error| ApiError::Invalid(e.to_string());
    let after = to.tomorrow().map_err(invalid)?;
    let start = from.to_zoned(zone.clone()).map_err(invalid)?.timestamp();
    let end = after.to_zoned(zone).map_err(invalid)?.timestamp();
    Ok((start, end))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// One appointment's, customer's, member's… history.
    pub entity_id: Option<Uuid>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/audit", security(("bearer" = [])), tag = "insights", params(("organization_id" = Uuid, Path), AuditQuery),
    extensions(("x-cita-permission" = json!("owner"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn audit(
    State(state): State<Shared>,
    Owner(caller): Owner,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<Value>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=AUDIT_PAGE_MAX).contains(&limit) {
        return Err(ApiError::Invalid(format!("limit is 1 to {AUDIT_PAGE_MAX}")));
    }
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let rows = tx
        .query(
            "SELECT id, at, actor_kind, actor_id, channel, action, entity, entity_id, operation,
                    before, after, api_key_id
             FROM audit_log
             WHERE ($1::bigint IS NULL OR id < $1) AND ($2::uuid IS NULL OR entity_id = $2)
             ORDER BY id DESC LIMIT $3",
            &[&query.before, &query.entity_id, &(limit + 1)],
        )
        .await?;
    tx.commit().await?;
    let more = rows.len() as i64 > limit;
    let page = &rows[..rows.len().min(limit as usize)];
    let entries: Vec<Value> = page
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<_, i64>(0),
                "at": r.get::<_, Timestamp>(1),
                "actor": { "kind": r.get::<_, String>(2), "id": r.get::<_, Uuid>(3) },
                "channel": r.get::<_, String>(4),
                "action": r.get::<_, String>(5),
                "entity": r.get::<_, String>(6),
                "entity_id": r.get::<_, Option<Uuid>>(7),
                "operation": r.get::<_, String>(8),
                "before": r.get::<_, Option<Value>>(9),
                "after": r.get::<_, Option<Value>>(10),
                "api_key_id": r.get::<_, Option<Uuid>>(11),
            })
        })
        .collect();
    let next_before = more
        .then(|| page.last().map(|r| r.get::<_, i64>(0)))
        .flatten();
    Ok(Json(
        json!({ "entries": entries, "next_before": next_before }),
    ))
}
