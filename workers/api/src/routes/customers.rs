//! Customers: found by name or phone, each with their visits and what staff keep about
//! them. Read under row-level security; changed through scheduling.

use axum::{Json, extract::State, http::HeaderMap};
use cita_shared::contracts::scheduling::{Outcome, Request, UpdateCustomerRequest};
use jiff::Timestamp;
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

const SEARCH_MAX: i64 = 50;
const HISTORY: i64 = 20;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Part of a name (any case) or of a phone number; every customer without it.
    pub q: Option<String>,
    pub limit: Option<i64>,
}

/// `text` as a LIKE pattern that matches it literally anywhere: `%`, `_` and `\` typed
/// by the user are only themselves.
fn contains(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/customers", security(("bearer" = [])), tag = "customers", params(("organization_id" = Uuid, Path), SearchQuery),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn search(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Query(query): Query<SearchQuery>,
) -> ApiResult<Json<Value>> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=SEARCH_MAX).contains(&limit) {
        return Err(ApiError::Invalid(format!("limit is 1 to {SEARCH_MAX}")));
    }
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 80) {
        return Err(ApiError::Invalid(
            "a search has at most 80 characters".into(),
        ));
    }
    // A phone is searched by its digits, however it was typed ("+52 55…", "55-…").
    let digits: Option<String> = q
        .map(|q| q.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|d| d.len() >= 3);
    let name = q.map(contains);
    let phone = digits.as_deref().map(contains);
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let rows = tx
        .query(
            "SELECT c.id, c.name, c.phone, c.email, c.tags,
                    (SELECT max(a.starts_at) FROM appointments a
                     WHERE a.customer_id = c.id AND a.status = 'completed')
             FROM customers c
             WHERE $1::text IS NULL OR c.name ILIKE $1 OR c.phone LIKE $2
             ORDER BY c.name NULLS LAST, c.id LIMIT $3",
            &[&name, &phone, &limit],
        )
        .await?;
    tx.commit().await?;
    let customers: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<_, Uuid>(0),
                "name": r.get::<_, Option<String>>(1),
                "phone": r.get::<_, Option<String>>(2),
                "email": r.get::<_, Option<String>>(3),
                "tags": r.get::<_, Vec<String>>(4),
                "last_visit_at": r.get::<_, Option<Timestamp>>(5),
            })
        })
        .collect();
    Ok(Json(json!({ "customers": customers })))
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/customers/{customer_id}", security(("bearer" = [])), tag = "customers", params(("organization_id" = Uuid, Path), ("customer_id" = Uuid, Path)),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn customer(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, customer_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<Value>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let row = tx
        .query_opt(
            "SELECT c.id, c.name, c.phone, c.email, c.notes, c.tags, c.created_at,
                    count(a.id) FILTER (WHERE a.status = 'completed')::int,
                    count(a.id) FILTER (WHERE a.status = 'no_show')::int,
                    count(a.id) FILTER (WHERE a.status = 'cancelled')::int,
                    COALESCE(sum(COALESCE(a.price_minor, s.price_minor)) FILTER (WHERE a.status = 'completed'), 0)::bigint,
                    (SELECT currency FROM organizations)
             FROM customers c
             LEFT JOIN appointments a ON a.customer_id = c.id
             LEFT JOIN service_types s ON s.id = a.service_type_id
             WHERE c.id = $1 GROUP BY c.id",
            &[&customer_id],
        )
        .await?
        .ok_or(ApiError::NotFound("customer"))?;
    let history = tx
        .query(
            "SELECT a.id, a.starts_at, a.status, a.service_type_id, s.name, a.staff_id
             FROM appointments a JOIN service_types s ON s.id = a.service_type_id
             WHERE a.customer_id = $1 ORDER BY a.starts_at DESC, a.id LIMIT $2",
            &[&customer_id, &HISTORY],
        )
        .await?;
    tx.commit().await?;
    let history: Vec<Value> = history
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<_, Uuid>(0),
                "starts_at": r.get::<_, Timestamp>(1),
                "status": r.get::<_, String>(2),
                "service_type_id": r.get::<_, Uuid>(3),
                "service": r.get::<_, String>(4),
                "staff_id": r.get::<_, Uuid>(5),
            })
        })
        .collect();
    Ok(Json(json!({
        "id": row.get::<_, Uuid>(0),
        "name": row.get::<_, Option<String>>(1),
        "phone": row.get::<_, Option<String>>(2),
        "email": row.get::<_, Option<String>>(3),
        "notes": row.get::<_, Option<String>>(4),
        "tags": row.get::<_, Vec<String>>(5),
        "created_at": row.get::<_, Timestamp>(6),
        "visits": row.get::<_, i32>(7),
        "no_shows": row.get::<_, i32>(8),
        "cancellations": row.get::<_, i32>(9),
        "spent_minor": row.get::<_, i64>(10),
        "currency": row.get::<_, String>(11).trim(),
        "history": history,
    })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    pub name: Option<String>,
    /// An empty text clears the notes.
    pub notes: Option<String>,
    /// An empty text clears the email.
    pub email: Option<String>,
    /// Replaces every tag.
    pub tags: Option<Vec<String>>,
}

#[utoipa::path(patch, path = "/v1/organizations/{organization_id}/customers/{customer_id}", security(("bearer" = [])), tag = "customers", params(("organization_id" = Uuid, Path), ("customer_id" = Uuid, Path)),
    request_body = CustomerBody,
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
pub async fn update(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, customer_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Body(body): Body<CustomerBody>,
) -> ApiResult<Json<Value>> {
    let outcome = state
        .schedule(&Request::UpdateCustomer(UpdateCustomerRequest {
            actor: caller.actor(),
            idempotency_key: idempotency_key(&headers, false)?,
            customer_id,
            name: body.name,
            notes: body.notes,
            email: body.email,
            tags: body.tags,
        }))
        .await?;
    match outcome {
        Outcome::Customer { customer } => Ok(Json(json!(customer))),
        other => Err(unexpected("update_customer", &other)),
    }
}
