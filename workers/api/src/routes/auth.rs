//! `/v1/auth/*`, `/v1/me` and `/v1/sessions`: logging in by a code sent over WhatsApp,
//! refreshing, and the caller's sessions.

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    auth::{
        Caller,
        codes::{self, e164},
        cookies,
        sessions::{self, Origin, SessionView, Tokens},
    },
    body::{Body, Path},
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// E.164: `+5215512345678`.
    pub phone: String,
    /// The organization's slug, for a number that is staff in several.
    #[serde(default)]
    pub organization: Option<String>,
}

#[utoipa::path(post, path = "/v1/auth/code", tag = "auth", request_body = CodeRequest,
    responses((status = 202, description = "Sent if the number is staff somewhere; the same answer otherwise", body = Value),
        (status = 422, body = crate::problem::Problem), (status = 429, body = crate::problem::Problem)))]
/// Always `202` with the same body: whether the number is registered is never told. The
/// lookup and the send happen after the answer, so its timing tells nothing either.
pub async fn request_code(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Body(request): Body<CodeRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    send_code(&state, &request.phone, peer, request.organization).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "accepted", "expires_in": codes::CODE_TTL.as_secs() })),
    ))
}

/// Sends a login code to `typed` if it is staff somewhere, after the caller is
/// answered: the answer and its timing are the same either way.
pub(crate) async fn send_code(
    state: &Shared,
    typed: &str,
    peer: SocketAddr,
    organization: Option<String>,
) -> ApiResult<()> {
    let phone = e164(typed)?;
    codes::limit_requests(state, &phone, &peer.ip().to_string()).await?;
    let state = state.clone();
    tokio::spawn(async move {
        let sent = match codes::member(&state, &phone, organization.as_deref()).await {
            Ok(Some(member)) => codes::send(&state, &member).await.map(|()| true),
            Ok(None) => Ok(false),
            Err(error) => Err(error),
        };
        match sent {
            Ok(true) => tracing::info!("login code sent"),
            Ok(false) => tracing::info!("login code asked for a number with no membership"),
            Err(error) => {
                tracing::warn!(error = %cita_shared::error::Chain(&error), "login code not sent")
            }
        }
    });
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub phone: String,
    pub code: String,
    #[serde(default)]
    pub organization: Option<String>,
    /// For browsers: the tokens in `HttpOnly; Secure; SameSite=Strict` cookies instead of
    /// the body, and a `csrf_token` to send as `X-CSRF-Token` with every change.
    #[serde(default)]
    pub cookies: bool,
}

/// A login or refresh answered for a browser: the tokens go in cookies only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CookieSession {
    pub session_id: Uuid,
    pub organization_id: Uuid,
    pub staff_id: Uuid,
    /// Seconds the access cookie lives.
    pub expires_in: i64,
    /// Send as `X-CSRF-Token` with every change made with the cookies (also in the
    /// readable cookie `cita_csrf`).
    pub csrf_token: String,
}

/// The tokens in the body, or for a browser in cookies.
fn answer(state: &Shared, tokens: Tokens, in_cookies: bool) -> Response {
    if !in_cookies {
        return Json(tokens).into_response();
    }
    let csrf_token = cookies::csrf_token(state, tokens.session_id);
    let set = cookies::set(&tokens.access_token, &tokens.refresh_token, &csrf_token);
    let body = CookieSession {
        session_id: tokens.session_id,
        organization_id: tokens.organization_id,
        staff_id: tokens.staff_id,
        expires_in: tokens.expires_in,
        csrf_token,
    };
    let mut response = Json(body).into_response();
    for (name, value) in set {
        response.headers_mut().append(name, value);
    }
    response
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Tokens, description = "With `cookies: true`, a CookieSession and the cookies"), (status = 401, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem), (status = 429, body = crate::problem::Problem)))]
pub async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(request): Body<LoginRequest>,
) -> ApiResult<Response> {
    let tokens = open_session(
        &state,
        &request.phone,
        request.code.trim(),
        request.organization.as_deref(),
        peer,
        &headers,
    )
    .await?;
    tracing::info!(session = %tokens.session_id, staff = %tokens.staff_id, cookies = request.cookies, "logged in");
    Ok(answer(&state, tokens, request.cookies))
}

/// Checks the code sent to `typed` and opens a session for its member.
pub(crate) async fn open_session(
    state: &Shared,
    typed: &str,
    code: &str,
    organization: Option<&str>,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> ApiResult<Tokens> {
    let phone = e164(typed)?;
    let ip = peer.ip().to_string();
    codes::limit_guesses(state, &phone, &ip).await?;
    let member = codes::member(state, &phone, organization)
        .await?
        .ok_or(ApiError::InvalidCode)?;
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::write(&mut client, member.organization_id).await?;
    if !codes::check(state, &tx, &member, code, now).await? {
        tx.commit().await?;
        return Err(ApiError::InvalidCode);
    }
    let origin = Origin {
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(200).collect()),
        ip,
    };
    let tokens = sessions::open(state, &tx, &member, &origin, now).await?;
    tx.commit().await?;
    Ok(tokens)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// Omitted by browsers: the `cita_refresh` cookie is used, and answered in cookies.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// Refreshes a minute from one address: far more than the browsers behind one office's
/// address need, far too few to try refresh tokens.
const REFRESHES_PER_IP: u64 = 120;

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Tokens, description = "With the cookie, a CookieSession and new cookies"), (status = 401, body = crate::problem::Problem), (status = 429, body = crate::problem::Problem)))]
/// A refresh by cookie needs no CSRF token: `SameSite=Strict` keeps other sites from
/// sending the cookie, and the answer (new cookies) is nothing a forger could read.
pub async fn refresh(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(request): Body<RefreshRequest>,
) -> ApiResult<Response> {
    let name = format!("{}:refresh:ip:{}", state.topology.name("login"), peer.ip());
    crate::limits::hit(&state.redis, &name, REFRESHES_PER_IP, 60).await?;
    let (token, in_cookies) = match request.refresh_token {
        Some(token) => (token, false),
        None => (
            cookies::read(&headers, cookies::REFRESH)
                .ok_or(ApiError::Unauthorized)?
                .to_owned(),
            true,
        ),
    };
    let tokens = sessions::refresh(&state, &token).await?;
    Ok(answer(&state, tokens, in_cookies))
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::problem::Problem)))]
/// Also expires the browser's cookies, which costs a bearer client nothing.
pub async fn logout(State(state): State<Shared>, caller: Caller) -> ApiResult<Response> {
    sessions::revoke(
        &state,
        caller.organization_id,
        caller.staff_id,
        caller.session()?,
        "logout",
    )
    .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    for (name, value) in cookies::clear() {
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub staff_id: Uuid,
    pub name: String,
    pub role: String,
    pub permissions: Vec<String>,
    pub organization: OrganizationRef,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub locale: String,
    pub time_zone: String,
}

#[utoipa::path(get, path = "/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::problem::Problem)))]
pub async fn me(State(state): State<Shared>, caller: Caller) -> ApiResult<Json<Me>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let row = tx
        .query_one(
            "SELECT s.name, s.role, o.slug, o.name, o.locale, o.timezone
             FROM staff s JOIN organizations o ON o.id = s.organization_id WHERE s.id = $1",
            &[&caller.staff_id],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(Me {
        staff_id: caller.staff_id,
        name: row.get(0),
        role: row.get(1),
        permissions: caller.permissions.clone(),
        organization: OrganizationRef {
            id: caller.organization_id,
            slug: row.get(2),
            name: row.get(3),
            locale: row.get(4),
            time_zone: row.get(5),
        },
    }))
}

#[utoipa::path(get, path = "/v1/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem)))]
pub async fn list_sessions(State(state): State<Shared>, caller: Caller) -> ApiResult<Json<Value>> {
    let sessions: Vec<SessionView> = sessions::list(
        &state,
        caller.organization_id,
        caller.staff_id,
        caller.session()?,
    )
    .await?;
    Ok(Json(json!({ "sessions": sessions })))
}

#[utoipa::path(delete, path = "/v1/sessions/{session_id}", tag = "auth", security(("bearer" = [])),
    params(("session_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
/// Another person's session, or one that is already closed, is answered as missing.
pub async fn revoke_session(
    State(state): State<Shared>,
    caller: Caller,
    Path(session_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    if sessions::revoke(
        &state,
        caller.organization_id,
        caller.staff_id,
        session_id,
        "revoked",
    )
    .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("session"))
    }
}
