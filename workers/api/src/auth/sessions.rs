//! Sessions: one per login, holding a family of refresh tokens. Each refresh spends its
//! token and issues the next; presenting a spent one means a copy is loose, and the whole
//! family is revoked — except, for the dashboard's pages, within a few seconds of the
//! spend: two tabs renewing at the same moment present the same cookie, and the later one
//! gets an access token only (see [`renew`]).
//!
//! A refresh token reads `<organization>.<secret>`: the organization is not secret, and
//! lets the lookup run under that organization's row-level security.

use deadpool_postgres::Transaction;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use uuid::Uuid;

use super::{
    codes::Member,
    jwt::{self, ACCESS_TTL_SECONDS, Claims},
};
use crate::{
    problem::{ApiError, ApiResult},
    secrets,
    state::AppState,
    tenant,
};

/// How long a login lasts without being used again.
pub const SESSION_TTL: SignedDuration = SignedDuration::from_hours(30 * 24);

/// How long after its spend the pages' refresh cookie still renews the access cookie.
/// Tabs share one cookie jar, so the later of two simultaneous renewals keeps the refresh
/// cookie the earlier one set. A copy used later than this still revokes the session.
pub const PAGES_REFRESH_GRACE: SignedDuration = SignedDuration::from_secs(10);

/// What a page's renewal gives: a new pair, or within the grace an access token only.
#[derive(Debug)]
pub enum Renewed {
    Rotated(Tokens),
    AccessOnly {
        access_token: String,
        session_id: Uuid,
    },
}

/// What a login or a refresh answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub session_id: Uuid,
    pub organization_id: Uuid,
    pub staff_id: Uuid,
}

/// Where a login comes from, kept on the session so its owner can recognise it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub user_agent: Option<String>,
    pub ip: String,
}

fn refresh_digests(state: &AppState, token: &str) -> Vec<Vec<u8>> {
    (0..state.keys.len())
        .map(|i| secrets::digest(&state.keys[i..], "refresh", token))
        .collect()
}

async fn issue(
    state: &AppState,
    tx: &Transaction<'_>,
    organization_id: Uuid,
    staff_id: Uuid,
    session_id: Uuid,
    now: Timestamp,
) -> ApiResult<Tokens> {
    let refresh_token = format!("{}.{}", organization_id.simple(), secrets::token());
    tx.execute(
        "INSERT INTO refresh_tokens (token_hash, organization_id, session_id, issued_at) VALUES ($1, $2, $3, $4)",
        &[&refresh_digests(state, &refresh_token)[0], &organization_id, &session_id, &now],
    )
    .await?;
    let access_token = access(state, organization_id, staff_id, session_id, now);
    Ok(Tokens {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECONDS,
        refresh_token,
        session_id,
        organization_id,
        staff_id,
    })
}

fn access(
    state: &AppState,
    organization_id: Uuid,
    staff_id: Uuid,
    session_id: Uuid,
    now: Timestamp,
) -> String {
    jwt::sign(
        &state.keys,
        &Claims {
            sub: staff_id,
            org: organization_id,
            sid: session_id,
            iat: now.as_second(),
            exp: now.as_second() + ACCESS_TTL_SECONDS,
            typ: "access".into(),
        },
    )
}

/// Opens a session for `member` inside the login's transaction.
pub async fn open(
    state: &AppState,
    tx: &Transaction<'_>,
    member: &Member,
    origin: &Origin,
    now: Timestamp,
) -> ApiResult<Tokens> {
    let row = tx
        .query_one(
            "INSERT INTO api_sessions (organization_id, staff_id, user_agent, ip, created_at, last_used_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
            &[
                &member.organization_id,
                &member.staff_id,
                &origin.user_agent,
                &origin.ip,
                &now,
                &(now + SESSION_TTL),
            ],
        )
        .await?;
    issue(
        state,
        tx,
        member.organization_id,
        member.staff_id,
        row.get(0),
        now,
    )
    .await
}

/// Spends `refresh_token` for a new pair.
pub async fn refresh(state: &AppState, refresh_token: &str) -> ApiResult<Tokens> {
    match spend(state, refresh_token, None).await? {
        Renewed::Rotated(tokens) => Ok(tokens),
        Renewed::AccessOnly { .. } => Err(ApiError::Unauthorized),
    }
}

/// The pages' renewal: as [`refresh`], but a token spent less than
/// [`PAGES_REFRESH_GRACE`] ago gives an access token instead of revoking the session.
pub async fn renew(state: &AppState, refresh_token: &str) -> ApiResult<Renewed> {
    spend(state, refresh_token, Some(PAGES_REFRESH_GRACE)).await
}

async fn spend(
    state: &AppState,
    refresh_token: &str,
    grace: Option<SignedDuration>,
) -> ApiResult<Renewed> {
    let organization_id = refresh_token
        .split_once('.')
        .and_then(|(org, _)| Uuid::try_parse(org).ok())
        .ok_or(ApiError::Unauthorized)?;
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::write(&mut client, organization_id).await?;
    let row = tx
        .query_opt(
            "SELECT r.token_hash, r.spent_at, s.id, s.staff_id, s.revoked_at, s.expires_at, st.active
             FROM refresh_tokens r
             JOIN api_sessions s ON s.id = r.session_id
             JOIN staff st ON st.id = s.staff_id
             WHERE r.token_hash = ANY ($1)
             FOR UPDATE OF r, s",
            &[&refresh_digests(state, refresh_token)],
        )
        .await?;
    let Some(row) = row else {
        return Err(ApiError::Unauthorized);
    };
    let (hash, spent_at, session_id, staff_id): (Vec<u8>, Option<Timestamp>, Uuid, Uuid) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let (revoked_at, expires_at, active): (Option<Timestamp>, Timestamp, bool) =
        (row.get(4), row.get(5), row.get(6));
    let live = revoked_at.is_none() && expires_at > now && active;
    if let (Some(spent), Some(grace)) = (spent_at, grace)
        && live
        && now.duration_since(spent) < grace
    {
        tracing::info!(%session_id, "a refresh cookie spent a moment ago renewed the access only");
        let access_token = access(state, organization_id, staff_id, session_id, now);
        return Ok(Renewed::AccessOnly {
            access_token,
            session_id,
        });
    }
    if spent_at.is_some() {
        if revoked_at.is_none() {
            tracing::warn!(%session_id, "a spent refresh token was presented again; the session is revoked");
            revoke_in(&tx, session_id, "refresh_reused", now).await?;
            tx.commit().await?;
        }
        return Err(ApiError::Unauthorized);
    }
    if !live {
        return Err(ApiError::Unauthorized);
    }
    tx.execute(
        "UPDATE refresh_tokens SET spent_at = $2 WHERE token_hash = $1",
        &[&hash, &now],
    )
    .await?;
    tx.execute(
        "UPDATE api_sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1",
        &[&session_id, &now, &(now + SESSION_TTL)],
    )
    .await?;
    let tokens = issue(state, &tx, organization_id, staff_id, session_id, now).await?;
    tx.commit().await?;
    Ok(Renewed::Rotated(tokens))
}

async fn revoke_in(
    tx: &Transaction<'_>,
    session_id: Uuid,
    reason: &str,
    now: Timestamp,
) -> ApiResult<u64> {
    Ok(tx
        .execute(
            "UPDATE api_sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
            &[&session_id, &now, &reason],
        )
        .await?)
}

/// Revokes one of `staff_id`'s sessions; `false` when they have no such live session.
pub async fn revoke(
    state: &AppState,
    organization_id: Uuid,
    staff_id: Uuid,
    session_id: Uuid,
    reason: &str,
) -> ApiResult<bool> {
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::write(&mut client, organization_id).await?;
    let owned = tx
        .query_opt(
            "SELECT 1 FROM api_sessions WHERE id = $1 AND staff_id = $2",
            &[&session_id, &staff_id],
        )
        .await?
        .is_some();
    let revoked = owned && revoke_in(&tx, session_id, reason, now).await? == 1;
    tx.commit().await?;
    Ok(revoked)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
    pub current: bool,
}

/// `staff_id`'s live sessions, newest first.
pub async fn list(
    state: &AppState,
    organization_id: Uuid,
    staff_id: Uuid,
    current: Uuid,
) -> ApiResult<Vec<SessionView>> {
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, organization_id).await?;
    let rows = tx
        .query(
            "SELECT id, user_agent, ip, created_at, last_used_at, expires_at FROM api_sessions
             WHERE staff_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC",
            &[&staff_id, &now],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|row| SessionView {
            id: row.get(0),
            user_agent: row.get(1),
            ip: row.get(2),
            created_at: row.get(3),
            last_used_at: row.get(4),
            expires_at: row.get(5),
            current: row.get::<_, Uuid>(0) == current,
        })
        .collect())
}
