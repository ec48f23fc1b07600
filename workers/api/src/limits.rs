//! Fixed-window rate limits in Redis, shared by every replica.

use std::sync::LazyLock;

use redis::aio::ConnectionManager;

use crate::problem::{ApiError, ApiResult};

/// Counts one hit on `key` in a window of `window_seconds`; past `limit` hits the answer
/// is [`ApiError::RateLimited`] with the seconds left in the window.
pub async fn hit(
    redis: &ConnectionManager,
    key: &str,
    limit: u64,
    window_seconds: u64,
) -> ApiResult<()> {
    // Hashed once: every request of a session runs it.
    static COUNT: LazyLock<redis::Script> = LazyLock::new(|| {
        redis::Script::new(
            "local n = redis.call('INCR', KEYS[1])
             if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
             return {n, redis.call('TTL', KEYS[1])}",
        )
    });
    let mut redis = redis.clone();
    let (count, ttl): (u64, i64) = COUNT
        .key(key)
        .arg(window_seconds)
        .invoke_async(&mut redis)
        .await?;
    if count > limit {
        return Err(ApiError::RateLimited {
            retry_after_seconds: ttl.max(1) as u64,
        });
    }
    Ok(())
}
