//! The owner's API keys: made (the key shown once), listed, revoked. Each change is in the
//! audit log, and so is everything a key changes, with its id.

use axum::{Json, extract::State, http::StatusCode};
use cita_shared::db::audit::act_as;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    auth::{
        Owner,
        keys::{self, SCOPES},
    },
    body::{Body, Path},
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/api-keys", security(("bearer" = [])), tag = "api keys", params(("organization_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("owner"))),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn list(State(state): State<Shared>, Owner(caller): Owner) -> ApiResult<Json<Value>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let rows = tx
        .query(
            "SELECT id, name, scopes, staff_id, created_at FROM api_keys
             WHERE revoked_at IS NULL ORDER BY created_at",
            &[],
        )
        .await?;
    tx.commit().await?;
    let keys: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<_, Uuid>(0),
                "name": r.get::<_, String>(1),
                "scopes": r.get::<_, Vec<String>>(2),
                "created_by": r.get::<_, Uuid>(3),
                "created_at": r.get::<_, Timestamp>(4),
            })
        })
        .collect();
    Ok(Json(json!({ "api_keys": keys })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyBody {
    /// What it is for: "Página web", "Zapier".
    pub name: String,
    /// read, appointments, catalog, settings, customers.
    pub scopes: Vec<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/api-keys", security(("bearer" = [])), tag = "api keys", params(("organization_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("owner"))),
    request_body = KeyBody,
    responses((status = 201, body = Value, description = "`key` is shown this once; send it as `Authorization: Bearer <key>`"), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn create(
    State(state): State<Shared>,
    Owner(caller): Owner,
    Body(body): Body<KeyBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ApiError::Invalid(
            "a key's name has 1 to 80 characters".into(),
        ));
    }
    let mut scopes = body.scopes.clone();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ApiError::Invalid("a key needs at least one scope".into()));
    }
    if let Some(unknown) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(ApiError::Invalid(format!(
            "unknown scope {unknown:?}; known: {}",
            SCOPES.join(", ")
        )));
    }
    let (key, hash) = keys::generate();
    let mut client = state.db().await?;
    let tx = tenant::write(&mut client, caller.organization_id).await?;
    act_as(&tx, &caller.actor(), "create_api_key").await?;
    let row = tx
        .query_one(
            "INSERT INTO api_keys (organization_id, staff_id, name, scopes, key_hash)
             VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at",
            &[
                &caller.organization_id,
                &caller.staff_id,
                &name,
                &scopes,
                &hash,
            ],
        )
        .await?;
    tx.commit().await?;
    let id: Uuid = row.get(0);
    tracing::info!(key = %id, ?scopes, "API key made");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "name": name,
            "scopes": scopes,
            "created_at": row.get::<_, Timestamp>(1),
            "key": key,
        })),
    ))
}

#[utoipa::path(delete, path = "/v1/organizations/{organization_id}/api-keys/{key_id}", security(("bearer" = [])), tag = "api keys", params(("organization_id" = Uuid, Path), ("key_id" = Uuid, Path)),
    extensions(("x-cita-permission" = json!("owner"))),
    responses((status = 204), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn revoke(
    State(state): State<Shared>,
    Owner(caller): Owner,
    Path((_, key_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let mut client = state.db().await?;
    let tx = tenant::write(&mut client, caller.organization_id).await?;
    act_as(&tx, &caller.actor(), "revoke_api_key").await?;
    let revoked = tx
        .execute(
            "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
            &[&key_id],
        )
        .await?;
    tx.commit().await?;
    if revoked == 0 {
        return Err(ApiError::NotFound("API key"));
    }
    tracing::info!(key = %key_id, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
