//! Settings of `cita-conversation`: the model, its bounds and its price, and the turn
//! policy.

use std::time::Duration;

use super::{ConfigError, Raw, invalid};
use crate::secret::Secret;

/// How `cita-conversation` runs turns and calls the model.
#[derive(Clone, Debug)]
pub struct ConversationSettings {
    /// `CITA_ANTHROPIC_API_KEY`, else `ANTHROPIC_API_KEY`.
    pub anthropic_api_key: Option<Secret>,
    /// `https://api.anthropic.com`, or a local fake (served at its root).
    pub anthropic_base_url: String,
    pub model: String,
    /// US dollars per million tokens of `model`; prices move, so they are configuration.
    pub prices: ModelPrices,
    /// One whole model call, body included (the SDK's own timeout stops at the headers).
    pub call_timeout: Duration,
    pub max_tokens: u32,
    /// Model calls per turn before the turn gives up and hands off.
    pub max_iterations: u32,
    /// Tries of one model call within a turn (429, 529, 5xx, timeouts) before the turn
    /// is retried later through the delayed queue.
    pub attempts: u32,
    /// How long a person may wait on a failing model before they get one apology and
    /// the owner a notice.
    pub apology_after: Duration,
    /// The AI spend per organization and local day, unless the organization sets its own.
    pub daily_budget_micro_usd: i64,
    /// Turns run at once by one replica (the `conversation.turns` prefetch). Turns wait
    /// on the model for seconds, so this, not CPU, bounds a replica's throughput.
    pub turn_concurrency: u16,
    /// Messages per minute from one person before the assistant stops answering each and
    /// says so once.
    pub flood_messages_per_minute: u32,
    /// After the model failed a turn past its tries, how long conversations of
    /// organizations with the guided fallback skip the model and go straight to guided
    /// mode (so each does not wait out the same outage).
    pub ai_cooldown: Duration,
    /// How long a guided conversation may sit idle before its flow starts over.
    pub guided_idle: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelPrices {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

impl ModelPrices {
    /// Sonnet 5.5 as of October 2026 (reference §10): $2 in, $10 out, $0.10 cache read,
    /// $2.50 five-minute cache write, per million tokens.
    pub const SONNET_5_5: ModelPrices = ModelPrices {
        input: 2.0,
        output: 10.0,
        cache_read: 0.10,
        cache_write: 2.50,
    };

    /// `input:2,output:10,cache_read:0.1,cache_write:2.5`; missing keys keep the default.
    fn parse(spec: &str) -> Result<Self, String> {
        let mut prices = Self::SONNET_5_5;
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once([':', '='])
                .ok_or_else(|| format!("expected key:price, got {pair:?}"))?;
            let value: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("bad price in {pair:?}"))?;
            match key.trim() {
                "input" => prices.input = value,
                "output" => prices.output = value,
                "cache_read" => prices.cache_read = value,
                "cache_write" => prices.cache_write = value,
                other => return Err(format!("unknown price {other:?}")),
            }
        }
        Ok(prices)
    }
}

pub(super) fn validate(
    raw: &Raw,
    anthropic_fallback: Option<Secret>,
) -> Result<ConversationSettings, ConfigError> {
    let base = raw
        .anthropic_base_url
        .as_deref()
        .unwrap_or("https://api.anthropic.com")
        .trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(invalid(
            "CITA_ANTHROPIC_BASE_URL",
            "must start with https:// (or http:// for a local fake)",
        ));
    }
    let prices = match raw.anthropic_prices.as_deref() {
        Some(spec) => ModelPrices::parse(spec).map_err(|e| invalid("CITA_ANTHROPIC_PRICES", e))?,
        None => ModelPrices::SONNET_5_5,
    };
    let positive = |var: &'static str, value: Option<u64>, default: u64| match value {
        Some(0) => Err(invalid(var, "must be at least 1")),
        Some(v) => Ok(v),
        None => Ok(default),
    };
    let budget = raw.ai_daily_budget_usd.unwrap_or(5.0);
    if !budget.is_finite() || budget < 0.0 {
        return Err(invalid("CITA_AI_DAILY_BUDGET_USD", "must be a price ≥ 0"));
    }
    let model = raw
        .anthropic_model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .unwrap_or("claude-sonnet-5-5");
    Ok(ConversationSettings {
        anthropic_api_key: raw
            .anthropic_api_key
            .clone()
            .filter(|k| !k.expose().trim().is_empty())
            .or(anthropic_fallback),
        anthropic_base_url: base.to_owned(),
        model: model.to_owned(),
        prices,
        call_timeout: Duration::from_millis(positive(
            "CITA_AI_CALL_TIMEOUT_MS",
            raw.ai_call_timeout_ms,
            45_000,
        )?),
        max_tokens: positive("CITA_AI_MAX_TOKENS", raw.ai_max_tokens.map(u64::from), 1024)? as u32,
        max_iterations: positive(
            "CITA_AI_MAX_ITERATIONS",
            raw.ai_max_iterations.map(u64::from),
            6,
        )? as u32,
        attempts: positive("CITA_AI_ATTEMPTS", raw.ai_attempts.map(u64::from), 3)? as u32,
        apology_after: Duration::from_millis(positive(
            "CITA_AI_APOLOGY_AFTER_MS",
            raw.ai_apology_after_ms,
            120_000,
        )?),
        daily_budget_micro_usd: (budget * 1_000_000.0).round() as i64,
        // A replica's turns mostly wait on the model (seconds each): 128 at once keep a
        // replica near 100 turns/s with 1 s model latency in a few tens of MiB.
        turn_concurrency: positive(
            "CITA_TURN_CONCURRENCY",
            raw.turn_concurrency.map(u64::from),
            128,
        )?
        .min(u64::from(u16::MAX)) as u16,
        flood_messages_per_minute: positive(
            "CITA_FLOOD_MESSAGES_PER_MINUTE",
            raw.flood_messages_per_minute.map(u64::from),
            12,
        )? as u32,
        ai_cooldown: Duration::from_secs(positive(
            "CITA_AI_COOLDOWN_SECONDS",
            raw.ai_cooldown_seconds,
            60,
        )?),
        guided_idle: Duration::from_secs(
            60 * positive("CITA_GUIDED_IDLE_MINUTES", raw.guided_idle_minutes, 30)?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::ModelPrices;

    #[test]
    fn prices_parse_with_defaults_for_missing_keys() {
        let prices = ModelPrices::parse("input:0.1, output=0.5").unwrap();
        assert_eq!(prices.input, 0.1);
        assert_eq!(prices.output, 0.5);
        assert_eq!(prices.cache_read, ModelPrices::SONNET_5_5.cache_read);
        assert!(ModelPrices::parse("input:-1").is_err());
        assert!(ModelPrices::parse("tokens:1").is_err());
        assert!(ModelPrices::parse("input").is_err());
    }
}
