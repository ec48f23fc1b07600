//! Rate limits shared by every replica, in Redis: one GCRA bucket per business phone
//! number (Meta's throughput) and one per number and recipient (Meta's pair rate). One
//! script checks every bucket of a send at once and takes from all of them or none, so
//! a send that has to wait does not use up the number's capacity meanwhile.

use std::{sync::LazyLock, time::Duration};

use cita_shared::tls::Endpoint;
use redis::aio::ConnectionManager;

/// KEYS: one per bucket. ARGV: per bucket, its emission interval in µs and its burst.
/// Returns 0 when every bucket had room (and takes one from each), else the
/// milliseconds until they all will. Time is the server's, so replicas' clocks do not
/// matter.
static GCRA: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or 0)
  if tat < now then tat = now end
  local allow_at = tat + interval - interval * burst
  if now < allow_at and allow_at - now > wait then wait = allow_at - now end
  tats[i] = tat + interval
end
if wait > 0 then return math.ceil(wait / 1000) end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%d', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
return 0
",
    )
});

/// A pace: `burst` sends at once, then one per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub interval: Duration,
    pub burst: u32,
}

impl Pace {
    pub fn per_second(rate: u32, burst: u32) -> Self {
        Pace {
            interval: Duration::from_micros(1_000_000 / u64::from(rate.max(1))),
            burst: burst.max(1),
        }
    }
}

#[derive(Clone)]
pub struct Pacer {
    redis: ConnectionManager,
    prefix: String,
}

/// How long a send may wait in place for its turn; longer waits go back to the broker
/// through a retry tier instead of holding a prefetch slot.
pub const MAX_WAIT_IN_PLACE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum PacingError {
    #[error("over the rate limit for another {0:?}")]
    Later(Duration),
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}

impl Pacer {
    /// Keys start with `prefix` (the AMQP prefix: tests and environments sharing a Redis
    /// server don't share buckets).
    pub async fn connect(url: &Endpoint, prefix: &str) -> Result<Self, redis::RedisError> {
        Ok(Pacer {
            redis: cita_shared::redis::connect(url, Duration::from_secs(2)).await?,
            prefix: prefix.to_owned(),
        })
    }

    /// Waits until the number (and the recipient, when given) may send one more message,
    /// and takes that turn. Returns the time waited, or `Later` if the turn is further
    /// away than [`MAX_WAIT_IN_PLACE`].
    pub async fn turn(
        &self,
        phone_number_id: &str,
        number: Pace,
        recipient: Option<(&str, Pace)>,
    ) -> Result<Duration, PacingError> {
        let mut waited = Duration::ZERO;
        loop {
            let mut invocation = GCRA.prepare_invoke();
            invocation
                .key(format!("{}rl:number:{phone_number_id}", self.prefix))
                .arg(number.interval.as_micros() as u64)
                .arg(number.burst);
            if let Some((to, pair)) = recipient {
                invocation
                    .key(format!("{}rl:pair:{phone_number_id}:{to}", self.prefix))
                    .arg(pair.interval.as_micros() as u64)
                    .arg(pair.burst);
            }
            let wait_ms: u64 = invocation.invoke_async(&mut self.redis.clone()).await?;
            if wait_ms == 0 {
                return Ok(waited);
            }
            let wait = Duration::from_millis(wait_ms);
            if waited + wait > MAX_WAIT_IN_PLACE {
                return Err(PacingError::Later(wait));
            }
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }
}
