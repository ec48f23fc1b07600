//! API keys for an owner's integrations: `cita_` and 32 random bytes, stored as SHA-256,
//! acting as the owner who made them within their scopes, and limited per key.

use axum::http::Method;
use uuid::Uuid;

use crate::{
    limits,
    problem::{ApiError, ApiResult},
    secrets,
    state::AppState,
};

pub const PREFIX: &str = "cita_";
/// Every scope a key can hold.
pub const SCOPES: [&str; 5] = ["read", "appointments", "catalog", "settings", "customers"];
/// Requests per key and minute, across replicas.
const PER_MINUTE: u64 = 600;

/// A new key, and what is stored of it.
pub fn generate() -> (String, Vec<u8>) {
    let key = format!("{PREFIX}{}", secrets::token());
    let hash = secrets::fingerprint(&key);
    (key, hash)
}

/// A live key's owner and scopes.
pub struct Key {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub staff_id: Uuid,
    pub scopes: Vec<String>,
    pub permissions: Vec<String>,
}

/// The live key `presented`, if there is one.
pub async fn find(state: &AppState, presented: &str) -> ApiResult<Option<Key>> {
    let client = state.db().await?;
    let statement = client
        .prepare_cached(
            "SELECT id, organization_id, staff_id, scopes, permissions FROM api_key($1)",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&secrets::fingerprint(presented)])
        .await?
        .map(|row| Key {
            id: row.get(0),
            organization_id: row.get(1),
            staff_id: row.get(2),
            scopes: row.get(3),
            permissions: row.get(4),
        }))
}

/// Counts the request against the key's allowance.
pub async fn limit(state: &AppState, key: &Key) -> ApiResult<()> {
    let name = format!("{}:{}", state.topology.name("api-key"), key.id);
    limits::hit(&state.redis, &name, PER_MINUTE, 60).await
}

/// Whether a key with `scopes` may make this request: `read` for every GET of its
/// organization (and `/v1/me`), a write scope for changes in its area, and never the
/// sessions, the keys or the calendar feeds.
pub fn allows(scopes: &[String], method: &Method, path: &str) -> bool {
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    let read = matches!(*method, Method::GET | Method::HEAD);
    if path == "/v1/me" {
        return read;
    }
    let Some(rest) = path.strip_prefix("/v1/organizations/") else {
        return false;
    };
    let area = rest.split('/').nth(1).unwrap_or("");
    if matches!(area, "api-keys" | "calendar-feeds") {
        return false;
    }
    if read {
        return has("read");
    }
    let needed = match area {
        "appointments" | "walk-ins" | "blocks" | "closures" | "time-off" => "appointments",
        "services" | "staff" | "hours" => "catalog",
        "settings" | "business" => "settings",
        "customers" => "customers",
        _ => return false,
    };
    has(needed)
}

/// Refuses what no key may do, with the reason logged.
pub fn check(key: &Key, method: &Method, path: &str) -> ApiResult<()> {
    if allows(&key.scopes, method, path) {
        Ok(())
    } else {
        tracing::info!(key = %key.id, %method, path, "outside the API key's scopes");
        Err(ApiError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reads_need_read_and_writes_their_area() {
        let org = "/v1/organizations/0b6f1d0e-0000-4000-8000-000000000001";
        let reader = scopes(&["read"]);
        assert!(allows(
            &reader,
            &Method::GET,
            &format!("{org}/appointments")
        ));
        assert!(!allows(
            &reader,
            &Method::POST,
            &format!("{org}/appointments")
        ));
        let booker = scopes(&["appointments"]);
        assert!(!allows(
            &booker,
            &Method::GET,
            &format!("{org}/appointments")
        ));
        assert!(allows(
            &booker,
            &Method::POST,
            &format!("{org}/appointments")
        ));
        assert!(allows(
            &booker,
            &Method::POST,
            &format!("{org}/appointments/x/cancel")
        ));
        assert!(!allows(
            &booker,
            &Method::PATCH,
            &format!("{org}/services/x")
        ));
        assert!(allows(
            &scopes(&["catalog"]),
            &Method::PATCH,
            &format!("{org}/services/x")
        ));
        assert!(allows(
            &scopes(&["settings"]),
            &Method::PUT,
            &format!("{org}/settings")
        ));
    }

    #[test]
    fn no_key_reaches_sessions_keys_or_feeds() {
        let all = scopes(&SCOPES);
        let org = "/v1/organizations/0b6f1d0e-0000-4000-8000-000000000001";
        assert!(!allows(&all, &Method::POST, &format!("{org}/api-keys")));
        assert!(!allows(&all, &Method::GET, &format!("{org}/api-keys")));
        assert!(!allows(
            &all,
            &Method::POST,
            &format!("{org}/calendar-feeds")
        ));
        assert!(!allows(&all, &Method::GET, "/v1/sessions"));
        assert!(!allows(&all, &Method::POST, "/v1/auth/logout"));
        assert!(allows(&all, &Method::GET, "/v1/me"));
    }
}
