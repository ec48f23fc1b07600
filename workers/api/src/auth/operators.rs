//! Platform operators: a token type of its own, minted by `cita-api operator-token`
//! against a recorded grant. It is valid only on tenant routes, only for reading, only
//! with the organization named again in `Cita-Organization`, and only once that request
//! is in the organization's audit log (`operator_access`, migration 0013). A read that
//! goes through scheduling (free times, figures) is refused there: scheduling acts for
//! the organization's own people only.

use axum::http::{Method, request::Parts};
use cita_shared::config::TokenKey;
use jiff::{SignedDuration, Timestamp};
use tokio_postgres::Client;
use uuid::Uuid;

use super::{Caller, jwt};
use crate::{
    problem::{ApiError, ApiResult},
    state::Shared,
};

/// What an operator's token starts with, so that it is never taken for a person's token
/// or an API key (`cita_` and base64url, which has no `-` after `cita`).
pub const PREFIX: &str = "cita-op-";
/// The header that names the organization an operator's request is for.
pub const ORGANIZATION_HEADER: &str = "cita-organization";
/// The longest grant: a support session, not a standing credential.
pub const MAX_MINUTES: i64 = 8 * 60;

/// A new grant and its token.
#[derive(Debug)]
pub struct Minted {
    pub grant_id: Uuid,
    pub token: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("an operator token lasts 1 to {MAX_MINUTES} minutes")]
    Minutes,
    #[error("the operator and the reason must not be empty")]
    Empty,
    #[error("cannot record the grant")]
    Db(#[from] tokio_postgres::Error),
}

/// Records a grant for `operator`, with `reason`, for `minutes` from `now`, and signs
/// its token with the first key. `client` connects as the tables' owner: the API's own
/// role can neither read nor write grants.
pub async fn mint(
    client: &Client,
    keys: &[TokenKey],
    operator: &str,
    reason: &str,
    minutes: i64,
    now: Timestamp,
) -> Result<Minted, MintError> {
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(MintError::Minutes);
    }
    let (operator, reason) = (operator.trim(), reason.trim());
    if operator.is_empty() || reason.is_empty() {
        return Err(MintError::Empty);
    }
    let expires_at = now + SignedDuration::from_mins(minutes);
    let grant_id: Uuid = client
        .query_one(
            "INSERT INTO operator_grants (operator, reason, created_at, expires_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[&operator, &reason, &now, &expires_at],
        )
        .await?
        .get(0);
    let claims = jwt::OperatorClaims {
        sub: operator.to_owned(),
        gid: grant_id,
        iat: now.as_second(),
        exp: expires_at.as_second(),
        typ: "operator".into(),
    };
    Ok(Minted {
        grant_id,
        token: format!("{PREFIX}{}", jwt::sign(keys, &claims)),
        expires_at,
    })
}

/// Ends a grant at once; `false` if there was no such live grant.
pub async fn revoke(client: &Client, grant_id: Uuid) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .execute(
            "UPDATE operator_grants SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
            &[&grant_id],
        )
        .await?
        == 1)
}

/// An operator's request on the tenant route of `organization_id`, admitted and logged,
/// or refused before anything is read.
pub async fn admit(
    parts: &Parts,
    state: &Shared,
    token: &str,
    organization_id: Uuid,
) -> ApiResult<Caller> {
    let now = state.clock.now();
    let claims: jwt::OperatorClaims = jwt::verify(&state.keys, token, now).map_err(|error| {
        tracing::info!(%error, "operator token refused");
        ApiError::Unauthorized
    })?;
    let named = parts
        .headers
        .get(ORGANIZATION_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Uuid::try_parse(value).ok());
    if named != Some(organization_id) {
        tracing::info!(operator = %claims.sub, grant = %claims.gid, "an operator request without its organization named");
        return Err(ApiError::OperatorScope(
            "an operator names the organization again in Cita-Organization",
        ));
    }
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        tracing::info!(operator = %claims.sub, grant = %claims.gid, method = %parts.method, "an operator tried a change");
        return Err(ApiError::OperatorScope("operator tokens only read"));
    }
    let client = state.db().await?;
    let statement = client
        .prepare_cached("SELECT operator_access($1, $2, $3, $4, $5)")
        .await?;
    let answer: String = client
        .query_one(
            &statement,
            &[
                &claims.gid,
                &organization_id,
                &parts.method.as_str(),
                &parts.uri.path(),
                &now,
            ],
        )
        .await?
        .get(0);
    match answer.as_str() {
        "granted" => {
            tracing::info!(operator = %claims.sub, grant = %claims.gid, organization = %organization_id, path = parts.uri.path(), "operator read");
            Ok(Caller::operator(organization_id, claims.gid))
        }
        "no_organization" => Err(ApiError::NotFound("organization")),
        _ => {
            tracing::info!(operator = %claims.sub, grant = %claims.gid, "an operator token of a revoked or expired grant");
            Err(ApiError::Unauthorized)
        }
    }
}
