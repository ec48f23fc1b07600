//! Availability cached in Redis for five minutes. Every key carries the organization's
//! version number, and every write bumps it after committing, so a change makes all of
//! the organization's cached answers unreachable at once (O(1), no key scans).
//!
//! Redis is an accelerator, never the truth: if it is unreachable, availability is
//! computed from PostgreSQL, and every booking is re-checked there anyway.

use std::{sync::LazyLock, time::Duration};

use cita_shared::{
    contracts::scheduling::{AvailabilityRequest, FreeSlot},
    tls::Endpoint,
};
use jiff::Timestamp;
use redis::{AsyncCommands, aio::ConnectionManager};
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(5 * 60);

/// KEYS[1] the version key; ARGV the entry key's parts before and after the version.
/// Returns the entry key and the entry (nil on a miss).
static LOOKUP: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "local key = ARGV[1] .. (redis.call('GET', KEYS[1]) or '0') .. ARGV[2]
         return {key, redis.call('GET', key)}",
    )
});
/// A cache that does not answer this fast is skipped for this request.
const PATIENCE: Duration = Duration::from_millis(250);

pub enum Lookup {
    Hit(Vec<FreeSlot>),
    Miss(String),
    Unavailable,
}

#[derive(Clone)]
pub struct Cache {
    redis: ConnectionManager,
    prefix: String,
}

impl Cache {
    /// Connects to Redis; keys start with `prefix` (the AMQP prefix, so tests and
    /// environments sharing a server don't see each other's keys).
    pub async fn connect(url: &Endpoint, prefix: &str) -> Result<Self, redis::RedisError> {
        Ok(Cache {
            redis: cita_shared::redis::connect(url, PATIENCE).await?,
            prefix: prefix.to_owned(),
        })
    }

    fn version_key(&self, organization_id: Uuid) -> String {
        format!("{}avail:v:{organization_id}", self.prefix)
    }

    /// The key's parts around the version number, which only Redis knows.
    fn key_parts(&self, request: &AvailabilityRequest) -> (String, String) {
        let org = request.actor.organization_id;
        let staff = request
            .staff_id
            .map_or_else(|| "any".to_owned(), |id| id.to_string());
        (
            format!("{}avail:{org}:", self.prefix),
            format!(
                ":{}:{staff}:{}:{}",
                request.service_type_id, request.from, request.to
            ),
        )
    }

    /// Looks the request up. A hit drops slots that have come within the minimum notice
    /// since they were cached. A miss carries the key to store the answer under: it is
    /// computed before PostgreSQL is read, so a write that commits meanwhile bumps the
    /// version past it and the possibly stale answer is never read.
    pub async fn lookup(&self, request: &AvailabilityRequest, earliest: Timestamp) -> Lookup {
        let (before, after) = self.key_parts(request);
        // One round trip: read the version and the entry under it together.
        let mut redis = self.redis.clone();
        let mut invocation = LOOKUP.key(self.version_key(request.actor.organization_id));
        invocation.arg(before).arg(after);
        let lookup = invocation.invoke_async::<(String, Option<String>)>(&mut redis);
        match tokio::time::timeout(PATIENCE, lookup).await {
            Ok(Ok((_, Some(cached)))) => match serde_json::from_str::<Vec<FreeSlot>>(&cached) {
                Ok(slots) => Lookup::Hit(
                    slots
                        .into_iter()
                        .filter(|s| s.starts_at >= earliest)
                        .collect(),
                ),
                Err(_) => Lookup::Unavailable,
            },
            Ok(Ok((key, None))) => Lookup::Miss(key),
            Ok(Err(error)) => {
                tracing::warn!(%error, "availability cache unavailable");
                Lookup::Unavailable
            }
            Err(_) => Lookup::Unavailable,
        }
    }

    pub async fn put(&self, key: &str, slots: &[FreeSlot]) {
        let Ok(value) = serde_json::to_string(slots) else {
            return;
        };
        let stored: Result<Result<(), _>, _> = tokio::time::timeout(
            PATIENCE,
            self.redis.clone().set_ex(key, value, TTL.as_secs()),
        )
        .await;
        if let Ok(Err(error)) = stored {
            tracing::warn!(%error, "cannot store availability in the cache");
        }
    }

    /// Makes every cached answer of the organization unreachable. Called after each
    /// committed write.
    pub async fn invalidate(&self, organization_id: Uuid) {
        let key = self.version_key(organization_id);
        let bumped: Result<Result<u64, _>, _> = tokio::time::timeout(PATIENCE, async {
            let mut redis = self.redis.clone();
            // No expiry: a version that vanished would restart at numbers whose entries
            // may still be cached. One small key per organization.
            let version: u64 = redis.incr(&key, 1).await?;
            Ok::<_, redis::RedisError>(version)
        })
        .await;
        if !matches!(bumped, Ok(Ok(_))) {
            tracing::warn!(organization = %organization_id, "cannot invalidate cached availability");
        }
    }
}
