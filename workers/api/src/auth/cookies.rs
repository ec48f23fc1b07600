//! The same tokens for browsers: `HttpOnly; Secure; SameSite=Strict` cookies, so page
//! scripts never hold them, and a CSRF token for every state-changing request made with
//! them. The CSRF token is an HMAC of the session id: nothing to store, it cannot be used
//! for another session, and it is checked against every listed key, as the others.

use axum::http::{HeaderMap, HeaderValue, Method, header};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{jwt::ACCESS_TTL_SECONDS, sessions::SESSION_TTL};
use crate::{secrets, state::AppState};

pub const ACCESS: &str = "cita_access";
pub const REFRESH: &str = "cita_refresh";
/// Readable by the page's scripts (not `HttpOnly`), which send it back as [`CSRF_HEADER`].
pub const CSRF: &str = "cita_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request, if sent.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The session's CSRF token, under the signing key.
pub fn csrf_token(state: &AppState, session_id: Uuid) -> String {
    B64.encode(secrets::digest(
        &state.keys,
        "csrf",
        &session_id.to_string(),
    ))
}

/// Whether a state-changing request authenticated by cookie carries its session's CSRF
/// token. Reads need none: `SameSite=Strict` already keeps other sites' pages out, and
/// the token guards what a same-site page (a form, say) could still be tricked into.
pub fn csrf_ok(state: &AppState, method: &Method, headers: &HeaderMap, session_id: Uuid) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let Some(presented) = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| B64.decode(v.trim()).ok())
    else {
        return false;
    };
    let session = session_id.to_string();
    (0..state.keys.len()).any(|i| {
        let expected = secrets::digest(&state.keys[i..], "csrf", &session);
        bool::from(expected.ct_eq(&presented))
    })
}

fn cookie(name: &str, value: &str, path: &str, max_age: i64, http_only: bool) -> HeaderValue {
    let http_only = if http_only { "; HttpOnly" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; Secure{http_only}; SameSite=Strict"
    ))
    .expect("tokens are base64url or JWTs: valid header text")
}

/// Where the dashboard's pages spend their refresh cookie (`/entrar/renovar`).
pub const PAGES_REFRESH_PATH: &str = "/entrar";

/// The cookies of a login or a refresh by the API.
pub fn set(
    access_token: &str,
    refresh_token: &str,
    csrf_token: &str,
) -> [(header::HeaderName, HeaderValue); 3] {
    set_at(access_token, refresh_token, csrf_token, "/v1/auth")
}

/// The cookies of a login or a refresh, the refresh token sent only under `refresh_path`
/// (one session has one refresh cookie: a second copy, spent once, would look like a
/// stolen token to the other's next refresh).
pub fn set_at(
    access_token: &str,
    refresh_token: &str,
    csrf_token: &str,
    refresh_path: &str,
) -> [(header::HeaderName, HeaderValue); 3] {
    [
        (
            header::SET_COOKIE,
            cookie(ACCESS, access_token, "/", ACCESS_TTL_SECONDS, true),
        ),
        (
            header::SET_COOKIE,
            // Sent only where it is spent.
            cookie(
                REFRESH,
                refresh_token,
                refresh_path,
                SESSION_TTL.as_secs(),
                true,
            ),
        ),
        (
            header::SET_COOKIE,
            cookie(CSRF, csrf_token, "/", SESSION_TTL.as_secs(), false),
        ),
    ]
}

/// The cookies of a renewal that keeps the refresh cookie as it is.
pub fn set_access(access_token: &str, csrf_token: &str) -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::SET_COOKIE,
            cookie(ACCESS, access_token, "/", ACCESS_TTL_SECONDS, true),
        ),
        (
            header::SET_COOKIE,
            cookie(CSRF, csrf_token, "/", SESSION_TTL.as_secs(), false),
        ),
    ]
}

/// The cookies of a logout: each one expired, the API's and the pages'.
pub fn clear() -> [(header::HeaderName, HeaderValue); 4] {
    [
        (header::SET_COOKIE, cookie(ACCESS, "", "/", 0, true)),
        (header::SET_COOKIE, cookie(REFRESH, "", "/v1/auth", 0, true)),
        (
            header::SET_COOKIE,
            cookie(REFRESH, "", PAGES_REFRESH_PATH, 0, true),
        ),
        (header::SET_COOKIE, cookie(CSRF, "", "/", 0, false)),
    ]
}
