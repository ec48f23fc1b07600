//! Who is calling: a bearer access token (or the same token in a browser's cookie, with
//! the session's CSRF token on every change), checked against its session on every
//! request (one prepared statement), so that a revoked session or a removed staff member
//! stops at once, not when the token expires.

pub mod codes;
pub mod cookies;
pub mod jwt;
pub mod keys;
pub mod operators;
pub mod sessions;

use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::request::Parts,
};
use cita_shared::contracts::scheduling::{Actor, Channel, Who};
use uuid::Uuid;

use crate::{
    problem::{ApiError, ApiResult},
    state::Shared,
};
use cita_shared::error::Infra;

#[derive(Debug, Clone)]
pub struct Caller {
    pub staff_id: Uuid,
    pub organization_id: Uuid,
    /// The login session; `None` for an API key.
    pub session_id: Option<Uuid>,
    /// The API key the request came with, acting as its owner.
    pub api_key_id: Option<Uuid>,
    /// A platform operator's grant: reads only, and no staff member behind it.
    pub operator_grant: Option<Uuid>,
    pub owner: bool,
    pub permissions: Vec<String>,
}

impl Caller {
    /// An operator reading `organization_id` on `grant`. No staff member has the nil id,
    /// so whatever reaches scheduling with it is refused there.
    fn operator(organization_id: Uuid, grant: Uuid) -> Self {
        Caller {
            staff_id: Uuid::nil(),
            organization_id,
            session_id: None,
            api_key_id: None,
            operator_grant: Some(grant),
            owner: true,
            permissions: Vec::new(),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            organization_id: self.organization_id,
            who: Who::Staff {
                staff_id: self.staff_id,
            },
            channel: Channel::Api,
            api_key_id: self.api_key_id,
        }
    }

    /// The login session of a person (an API key has none).
    pub fn session(&self) -> ApiResult<Uuid> {
        self.session_id.ok_or(ApiError::Forbidden)
    }

    /// Owners may do everything; staff what their permissions list.
    pub fn may(&self, permission: &str) -> bool {
        self.owner || self.permissions.iter().any(|p| p == permission)
    }

    pub fn require(&self, permission: &str) -> ApiResult<()> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    pub fn require_owner(&self) -> ApiResult<()> {
        if self.owner {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The organization of a tenant route: another organization's id is answered as if
    /// it did not exist.
    pub fn within(&self, organization_id: Uuid) -> ApiResult<()> {
        if organization_id == self.organization_id {
            Ok(())
        } else {
            Err(ApiError::NotFound("organization"))
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> ApiResult<Self> {
        let (token, by_cookie) = match bearer(parts) {
            Some(token) if token.starts_with(operators::PREFIX) => {
                tracing::info!("an operator token off a tenant route");
                return Err(ApiError::Unauthorized);
            }
            Some(key) if key.starts_with(keys::PREFIX) => return by_key(parts, state, key).await,
            Some(token) => (token, false),
            None => (
                cookies::read(&parts.headers, cookies::ACCESS).ok_or(ApiError::Unauthorized)?,
                true,
            ),
        };
        let now = state.clock.now();
        let claims = jwt::verify(&state.keys, token, now).map_err(|error| {
            tracing::info!(%error, "access token refused");
            ApiError::Unauthorized
        })?;
        // The session's allowance is counted while the session is looked up.
        let (row, counted) = tokio::join!(session(state, &claims, now), limit(state, &claims));
        counted?;
        let row = row?
            .filter(|row| row.get::<_, Uuid>(0) == claims.org)
            .ok_or_else(|| {
                tracing::info!(session = %claims.sid, "access token of a closed session");
                ApiError::Unauthorized
            })?;
        if by_cookie && !cookies::csrf_ok(state, &parts.method, &parts.headers, claims.sid) {
            tracing::info!(session = %claims.sid, "a change by cookie without its CSRF token");
            return Err(ApiError::Csrf);
        }
        Ok(Caller {
            staff_id: claims.sub,
            organization_id: claims.org,
            session_id: Some(claims.sid),
            api_key_id: None,
            operator_grant: None,
            owner: row.get(1),
            permissions: row.get(2),
        })
    }
}

/// The session's row, if it is open and its member still active.
async fn session(
    state: &Shared,
    claims: &jwt::Claims,
    now: jiff::Timestamp,
) -> ApiResult<Option<tokio_postgres::Row>> {
    let client = state.db().await?;
    let statement = client
        .prepare_cached("SELECT organization_id, owner, permissions FROM api_session($1, $2, $3)")
        .await
        .map_err(Infra::from)?;
    Ok(client
        .query_opt(&statement, &[&claims.sid, &claims.sub, &now])
        .await
        .map_err(Infra::from)?)
}

/// Counts the request against the session's allowance per minute.
async fn limit(state: &Shared, claims: &jwt::Claims) -> ApiResult<()> {
    let name = format!("{}:{}", state.topology.name("api-session"), claims.sid);
    crate::limits::hit(&state.redis, &name, state.session_requests_per_minute, 60).await
}

/// An integration's key: live, within its scopes and its allowance.
async fn by_key(parts: &Parts, state: &Shared, presented: &str) -> ApiResult<Caller> {
    let key = keys::find(state, presented).await?.ok_or_else(|| {
        tracing::info!("an unknown or revoked API key");
        ApiError::Unauthorized
    })?;
    keys::check(&key, &parts.method, parts.uri.path())?;
    keys::limit(state, &key).await?;
    Ok(Caller {
        staff_id: key.staff_id,
        organization_id: key.organization_id,
        session_id: None,
        api_key_id: Some(key.id),
        operator_grant: None,
        owner: true,
        permissions: key.permissions,
    })
}

/// A caller on a tenant route (`/v1/organizations/{organization_id}/…`) of their own
/// organization. Checked before the rest of the request is read, so another
/// organization's routes answer 404 whatever the query or body holds.
#[derive(Debug, Clone)]
pub struct Scoped(pub Caller);

impl FromRequestParts<Shared> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> ApiResult<Self> {
        let operator = bearer(parts)
            .and_then(|t| t.strip_prefix(operators::PREFIX))
            .map(str::to_owned);
        if let Some(token) = operator {
            let organization_id = path_organization(parts, state).await?;
            return operators::admit(parts, state, &token, organization_id)
                .await
                .map(Scoped);
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.within(path_organization(parts, state).await?)?;
        Ok(Scoped(caller))
    }
}

async fn path_organization(parts: &mut Parts, state: &Shared) -> ApiResult<Uuid> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::NotFound("organization"))?;
    params
        .iter()
        .find(|(name, _)| *name == "organization_id")
        .and_then(|(_, value)| Uuid::try_parse(value).ok())
        .ok_or(ApiError::NotFound("organization"))
}

/// The owner, on a tenant route of their organization. Checked before the body is read,
/// so a staff member is told 403 whatever they sent.
#[derive(Debug, Clone)]
pub struct Owner(pub Caller);

impl FromRequestParts<Shared> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> ApiResult<Self> {
        let Scoped(caller) = Scoped::from_request_parts(parts, state).await?;
        caller.require_owner()?;
        Ok(Owner(caller))
    }
}
