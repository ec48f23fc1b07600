//! The owner API's settings (`cita-api`).

use std::{fmt, time::Duration};

use super::{ConfigError, Raw, invalid};

/// One key that signs access tokens, named by the `kid` the tokens carry.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenKey {
    pub id: String,
    pub key: [u8; 32],
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKey({}, [redacted])", self.id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiSettings {
    /// `CITA_API_TOKEN_KEYS`, `id:hex,…` as `CITA_SECRETS_KEY`: the first signs, every one
    /// verifies, so a key is rotated by putting a new one first and dropping the old one
    /// once its tokens have expired. Also the pepper of stored codes and refresh tokens.
    pub token_keys: Vec<TokenKey>,
    /// The PostgreSQL role every API connection takes (`SET ROLE`): one without
    /// `BYPASSRLS`, so row-level security holds each request to its organization.
    pub database_role: String,
    /// How long a request waits for `scheduling.rpc`.
    pub rpc_timeout: Duration,
    /// Requests a login session may make in a minute, counted in Redis across replicas.
    pub session_requests_per_minute: u64,
}

impl ApiSettings {
    pub fn require_token_keys(&self) -> Result<&[TokenKey], ConfigError> {
        if self.token_keys.is_empty() {
            return Err(ConfigError::Missing("CITA_API_TOKEN_KEYS"));
        }
        Ok(&self.token_keys)
    }
}

pub(super) fn validate(raw: &Raw) -> Result<ApiSettings, ConfigError> {
    const VAR: &str = "CITA_API_TOKEN_KEYS";
    let mut token_keys = Vec::new();
    if let Some(spec) = &raw.api_token_keys {
        for entry in spec
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (id, hex_key) = entry
                .split_once(':')
                .ok_or_else(|| invalid(VAR, "expected id:hex,… entries"))?;
            let bytes = hex::decode(hex_key.trim())
                .map_err(|_| invalid(VAR, format!("key {id:?} is not hex")))?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| {
                invalid(VAR, format!("key {id:?} must be 32 bytes (64 hex digits)"))
            })?;
            let id = id.trim();
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(invalid(VAR, "key ids are letters, digits and '-'"));
            }
            if token_keys.iter().any(|k: &TokenKey| k.id == id) {
                return Err(invalid(VAR, format!("key id {id:?} appears twice")));
            }
            token_keys.push(TokenKey {
                id: id.to_owned(),
                key,
            });
        }
    }
    let database_role = raw
        .api_database_role
        .clone()
        .unwrap_or_else(|| "cita_api".into());
    if database_role.is_empty()
        || !database_role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(invalid(
            "CITA_API_DATABASE_ROLE",
            "a role name of lowercase letters, digits and '_'",
        ));
    }
    let rpc_timeout = match raw.api_rpc_timeout_ms {
        Some(0) => return Err(invalid("CITA_API_RPC_TIMEOUT_MS", "must be at least 1")),
        value => Duration::from_millis(value.unwrap_or(5_000)),
    };
    let session_requests_per_minute = match raw.api_session_requests_per_minute {
        Some(0) => {
            return Err(invalid(
                "CITA_API_SESSION_REQUESTS_PER_MINUTE",
                "must be at least 1",
            ));
        }
        value => value.unwrap_or(1_200),
    };
    Ok(ApiSettings {
        token_keys,
        database_role,
        rpc_timeout,
        session_requests_per_minute,
    })
}
