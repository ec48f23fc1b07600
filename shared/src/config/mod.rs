//! Configuration: defaults in code → optional TOML file (`CITA_CONFIG_FILE`) → `CITA_*`
//! environment variables. Everything is validated once, at start, into [`Settings`].

use std::{collections::HashMap, net::SocketAddr, path::PathBuf, time::Duration};

use serde::Deserialize;

use crate::{crypto::Keyring, secret::Secret};

mod conversation;

pub use conversation::{ConversationSettings, ModelPrices};

/// The binaries of the fleet. Each has its own admin port so that the whole fleet can run
/// on one machine with the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Ingress,
    Scheduling,
    Conversation,
    Outbound,
    Reminders,
    Migrate,
    Replay,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Ingress => "cita-ingress",
            Component::Scheduling => "cita-scheduling",
            Component::Conversation => "cita-conversation",
            Component::Outbound => "cita-outbound",
            Component::Reminders => "cita-reminders",
            Component::Migrate => "cita-migrate",
            Component::Replay => "cita-replay",
        }
    }

    fn default_admin_addr(self) -> SocketAddr {
        let port = match self {
            Component::Ingress => 9101,
            Component::Scheduling => 9102,
            Component::Conversation => 9103,
            Component::Outbound => 9104,
            Component::Reminders => 9105,
            // These run to completion and serve nothing; the port is never bound.
            Component::Migrate | Component::Replay => 9100,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn default_prefetch(self) -> u16 {
        match self {
            // Sends wait a few hundred milliseconds on Meta each; many in flight keep a
            // replica's throughput from being capped by that latency.
            Component::Outbound => 256,
            // Enough to keep a worker's database connections busy while replies travel,
            // few enough that a crashed worker returns little to the queue.
            _ => 16,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing required setting {0}")]
    Missing(&'static str),
    #[error("invalid setting {var}: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("could not read configuration: {0}")]
    Load(#[from] config::ConfigError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration of one binary.
#[derive(Clone, Debug)]
pub struct Settings {
    pub component: Component,
    pub database_url: Secret,
    pub database_pool_size: usize,
    pub amqp_url: Secret,
    /// Prepended to every exchange and queue name, so that tests and environments can
    /// share one broker.
    pub amqp_prefix: String,
    pub redis_url: Secret,
    /// Several secrets are accepted at once so that the Meta app secret can be rotated
    /// without refusing webhooks signed with the old one in the meantime.
    pub meta_app_secrets: Vec<Secret>,
    pub meta_verify_token: Option<Secret>,
    pub listen_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub max_body_bytes: usize,
    pub publish_timeout: Duration,
    /// Unacked deliveries per consumer, which is also how many a worker handles at once.
    pub prefetch: u16,
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    /// Keys that seal secrets at rest (`id:hex,…`; the first one seals).
    pub secrets_key: Option<Secret>,
    pub outbound: OutboundSettings,
    pub conversation: ConversationSettings,
}

/// How `cita-outbound` talks to Meta's Graph API.
#[derive(Clone, Debug)]
pub struct OutboundSettings {
    /// `https://graph.facebook.com` in production; a local fake in tests and the demo.
    pub graph_api_base: String,
    /// Pinned, never the app's default: `v23.0`.
    pub graph_api_version: String,
    pub graph_timeout: Duration,
    /// Messages per second per business phone number, unless the organization sets its own.
    pub number_rate: u32,
    /// Messages a number may send at once before the pace applies.
    pub number_burst: u32,
    /// The pace of messages to one recipient (Meta's pair rate: about one per 6 s).
    pub pair_interval: Duration,
    /// Messages to one recipient at once before the pace applies.
    pub pair_burst: u32,
    /// Calls to Meta per message before a retryable failure becomes final.
    pub max_attempts: u32,
}

/// Every `CITA_*` variable the binaries read (besides `CITA_CONFIG_FILE`), for checks of
/// deployment files and of README's table; one per field of the sources below.
pub const VARIABLES: &[&str] = &[
    "CITA_ADMIN_ADDR",
    "CITA_AI_APOLOGY_AFTER_MS",
    "CITA_AI_ATTEMPTS",
    "CITA_AI_CALL_TIMEOUT_MS",
    "CITA_AI_COOLDOWN_SECONDS",
    "CITA_AI_DAILY_BUDGET_USD",
    "CITA_AI_MAX_ITERATIONS",
    "CITA_AI_MAX_TOKENS",
    "CITA_AMQP_PREFIX",
    "CITA_AMQP_URL",
    "CITA_ANTHROPIC_API_KEY",
    "CITA_ANTHROPIC_BASE_URL",
    "CITA_ANTHROPIC_MODEL",
    "CITA_ANTHROPIC_PRICES",
    "CITA_DATABASE_POOL_SIZE",
    "CITA_DATABASE_URL",
    "CITA_FLOOD_MESSAGES_PER_MINUTE",
    "CITA_GRAPH_API_BASE",
    "CITA_GRAPH_API_VERSION",
    "CITA_GUIDED_IDLE_MINUTES",
    "CITA_GRAPH_TIMEOUT_MS",
    "CITA_LISTEN_ADDR",
    "CITA_LOG_FORMAT",
    "CITA_MAX_BODY_BYTES",
    "CITA_META_APP_SECRET",
    "CITA_META_VERIFY_TOKEN",
    "CITA_OUTBOUND_MAX_ATTEMPTS",
    "CITA_OUTBOUND_NUMBER_BURST",
    "CITA_OUTBOUND_NUMBER_RATE",
    "CITA_OUTBOUND_PAIR_BURST",
    "CITA_OUTBOUND_PAIR_INTERVAL_MS",
    "CITA_PREFETCH",
    "CITA_PUBLISH_TIMEOUT_MS",
    "CITA_REDIS_URL",
    "CITA_REJECTED_RETENTION_HOURS",
    "CITA_SECRETS_KEY",
    "CITA_SHUTDOWN_TIMEOUT_MS",
    "CITA_TURN_CONCURRENCY",
];

/// The shape of the sources before validation. Field names are the environment variable
/// names without the `CITA_` prefix, lowercased.
#[derive(Deserialize)]
struct Raw {
    #[serde(default = "defaults::database_url")]
    database_url: Secret,
    #[serde(default = "defaults::database_pool_size")]
    database_pool_size: usize,
    #[serde(default = "defaults::amqp_url")]
    amqp_url: Secret,
    #[serde(default)]
    amqp_prefix: String,
    #[serde(default = "defaults::redis_url")]
    redis_url: Secret,
    meta_app_secret: Option<Secret>,
    meta_verify_token: Option<Secret>,
    #[serde(default = "defaults::listen_addr")]
    listen_addr: String,
    admin_addr: Option<String>,
    #[serde(default = "defaults::max_body_bytes")]
    max_body_bytes: usize,
    #[serde(default = "defaults::publish_timeout_ms")]
    publish_timeout_ms: u64,
    prefetch: Option<u16>,
    #[serde(default = "defaults::shutdown_timeout_ms")]
    shutdown_timeout_ms: u64,
    #[serde(default = "defaults::log_format")]
    log_format: LogFormat,
    secrets_key: Option<Secret>,
    #[serde(default = "defaults::graph_api_base")]
    graph_api_base: String,
    #[serde(default = "defaults::graph_api_version")]
    graph_api_version: String,
    #[serde(default = "defaults::graph_timeout_ms")]
    graph_timeout_ms: u64,
    #[serde(default = "defaults::outbound_number_rate")]
    outbound_number_rate: u32,
    #[serde(default = "defaults::outbound_number_burst")]
    outbound_number_burst: u32,
    #[serde(default = "defaults::outbound_pair_interval_ms")]
    outbound_pair_interval_ms: u64,
    #[serde(default = "defaults::outbound_pair_burst")]
    outbound_pair_burst: u32,
    #[serde(default = "defaults::outbound_max_attempts")]
    outbound_max_attempts: u32,
    anthropic_api_key: Option<Secret>,
    anthropic_base_url: Option<String>,
    anthropic_model: Option<String>,
    anthropic_prices: Option<String>,
    ai_call_timeout_ms: Option<u64>,
    ai_max_tokens: Option<u32>,
    ai_max_iterations: Option<u32>,
    ai_attempts: Option<u32>,
    ai_apology_after_ms: Option<u64>,
    ai_daily_budget_usd: Option<f64>,
    turn_concurrency: Option<u16>,
    flood_messages_per_minute: Option<u32>,
    rejected_retention_hours: Option<u64>,
    ai_cooldown_seconds: Option<u64>,
    guided_idle_minutes: Option<u64>,
}

mod defaults {
    use super::{LogFormat, Secret};

    pub fn database_url() -> Secret {
        Secret::new("postgres://postgres@127.0.0.1:5432/cita")
    }
    pub fn database_pool_size() -> usize {
        16
    }
    pub fn amqp_url() -> Secret {
        // 30 s heartbeats notice a dead broker link in about a minute; the server's 60 s
        // default would take two.
        Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=30")
    }
    pub fn redis_url() -> Secret {
        Secret::new("redis://127.0.0.1:6379/0")
    }
    pub fn listen_addr() -> String {
        "127.0.0.1:8080".into()
    }
    pub fn max_body_bytes() -> usize {
        // Meta sends payloads of up to about 3 MB.
        4 * 1024 * 1024
    }
    pub fn publish_timeout_ms() -> u64 {
        5_000
    }
    pub fn shutdown_timeout_ms() -> u64 {
        20_000
    }
    pub fn log_format() -> LogFormat {
        LogFormat::Text
    }
    pub fn graph_api_base() -> String {
        "https://graph.facebook.com".into()
    }
    pub fn graph_api_version() -> String {
        "v23.0".into()
    }
    pub fn graph_timeout_ms() -> u64 {
        10_000
    }
    pub fn outbound_number_rate() -> u32 {
        // Meta's default throughput per number.
        80
    }
    pub fn outbound_number_burst() -> u32 {
        8
    }
    pub fn outbound_pair_interval_ms() -> u64 {
        6_000
    }
    pub fn outbound_pair_burst() -> u32 {
        // Meta tolerates bursts of up to 45 to one user; an assistant's turn is a few
        // bubbles, so 10 never slows a conversation and stays far from the limit.
        10
    }
    pub fn outbound_max_attempts() -> u32 {
        // 1 + 4 + 16 + 64 + 256 × 3 s ≈ 14 minutes of retrying.
        8
    }
}

impl Settings {
    /// Loads the settings of `component` from the process environment.
    pub fn load(component: Component) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::from_env(component, env)
    }

    /// Loads from an explicit environment map (tests use this instead of mutating the
    /// process environment). `CITA_CONFIG_FILE` in the map names the optional TOML file.
    pub fn from_env(
        component: Component,
        env: HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        // The Anthropic SDKs' own variable, honoured when the CITA_ one is not set.
        let anthropic_fallback = env
            .get("ANTHROPIC_API_KEY")
            .filter(|k| !k.trim().is_empty())
            .map(Secret::new);
        let mut builder = config::Config::builder();
        if let Some(path) = env.get("CITA_CONFIG_FILE").filter(|p| !p.is_empty()) {
            builder = builder.add_source(config::File::from(PathBuf::from(path)).required(true));
        }
        let raw: Raw = builder
            .add_source(
                config::Environment::with_prefix("CITA")
                    .prefix_separator("_")
                    .source(Some(env)),
            )
            .build()?
            .try_deserialize()?;
        Self::validate(component, raw, anthropic_fallback)
    }

    fn validate(
        component: Component,
        raw: Raw,
        anthropic_fallback: Option<Secret>,
    ) -> Result<Self, ConfigError> {
        let outbound = validate_outbound(&raw)?;
        let conversation = conversation::validate(&raw, anthropic_fallback)?;
        let meta_app_secrets = raw
            .meta_app_secret
            .map(|all| {
                all.expose()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Secret::new)
                    .collect()
            })
            .unwrap_or_default();
        let meta_verify_token = raw.meta_verify_token.filter(|t| !t.expose().is_empty());

        check_scheme(
            "CITA_DATABASE_URL",
            &raw.database_url,
            &["postgres://", "postgresql://"],
        )?;
        check_scheme("CITA_AMQP_URL", &raw.amqp_url, &["amqp://", "amqps://"])?;
        check_scheme("CITA_REDIS_URL", &raw.redis_url, &["redis://", "rediss://"])?;
        if !raw
            .amqp_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(invalid(
                "CITA_AMQP_PREFIX",
                "only letters, digits, '.', '-' and '_'",
            ));
        }
        if raw.database_pool_size == 0 {
            return Err(invalid("CITA_DATABASE_POOL_SIZE", "must be at least 1"));
        }
        let prefetch = raw.prefetch.unwrap_or(component.default_prefetch());
        if prefetch == 0 {
            return Err(invalid("CITA_PREFETCH", "must be at least 1"));
        }
        let secrets_key = raw.secrets_key.filter(|k| !k.expose().trim().is_empty());
        if raw.max_body_bytes == 0 {
            return Err(invalid("CITA_MAX_BODY_BYTES", "must be at least 1"));
        }
        if raw.publish_timeout_ms == 0 {
            return Err(invalid("CITA_PUBLISH_TIMEOUT_MS", "must be at least 1"));
        }
        let listen_addr = parse_addr("CITA_LISTEN_ADDR", &raw.listen_addr)?;
        let admin_addr = match raw.admin_addr.as_deref() {
            Some(addr) => parse_addr("CITA_ADMIN_ADDR", addr)?,
            None => component.default_admin_addr(),
        };

        Ok(Settings {
            component,
            database_url: raw.database_url,
            database_pool_size: raw.database_pool_size,
            amqp_url: raw.amqp_url,
            amqp_prefix: raw.amqp_prefix,
            redis_url: raw.redis_url,
            meta_app_secrets,
            meta_verify_token,
            listen_addr,
            admin_addr,
            max_body_bytes: raw.max_body_bytes,
            publish_timeout: Duration::from_millis(raw.publish_timeout_ms),
            prefetch,
            shutdown_timeout: Duration::from_millis(raw.shutdown_timeout_ms),
            log_format: raw.log_format,
            secrets_key,
            outbound,
            conversation,
        })
    }

    /// The keys that seal secrets at rest, for binaries that read or write them.
    pub fn require_keyring(&self) -> Result<Keyring, ConfigError> {
        let spec = self
            .secrets_key
            .as_ref()
            .ok_or(ConfigError::Missing("CITA_SECRETS_KEY"))?;
        Keyring::parse(spec).map_err(|e| invalid("CITA_SECRETS_KEY", e.to_string()))
    }

    /// The Meta app secrets, for binaries that verify webhook signatures.
    pub fn require_meta_app_secrets(&self) -> Result<&[Secret], ConfigError> {
        if self.meta_app_secrets.is_empty() {
            return Err(ConfigError::Missing("CITA_META_APP_SECRET"));
        }
        Ok(&self.meta_app_secrets)
    }

    /// The webhook verify token, for binaries that answer Meta's subscription handshake.
    pub fn require_meta_verify_token(&self) -> Result<&Secret, ConfigError> {
        self.meta_verify_token
            .as_ref()
            .ok_or(ConfigError::Missing("CITA_META_VERIFY_TOKEN"))
    }
}

fn validate_outbound(raw: &Raw) -> Result<OutboundSettings, ConfigError> {
    let base = raw.graph_api_base.trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(invalid(
            "CITA_GRAPH_API_BASE",
            "must start with https:// (or http:// for a local fake)",
        ));
    }
    let version = &raw.graph_api_version;
    let well_formed = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        });
    if !well_formed {
        return Err(invalid(
            "CITA_GRAPH_API_VERSION",
            format!("expected a version like v23.0, got {version:?}"),
        ));
    }
    for (var, value) in [
        ("CITA_GRAPH_TIMEOUT_MS", raw.graph_timeout_ms),
        ("CITA_OUTBOUND_NUMBER_RATE", raw.outbound_number_rate.into()),
        (
            "CITA_OUTBOUND_NUMBER_BURST",
            raw.outbound_number_burst.into(),
        ),
        (
            "CITA_OUTBOUND_PAIR_INTERVAL_MS",
            raw.outbound_pair_interval_ms,
        ),
        ("CITA_OUTBOUND_PAIR_BURST", raw.outbound_pair_burst.into()),
        (
            "CITA_OUTBOUND_MAX_ATTEMPTS",
            raw.outbound_max_attempts.into(),
        ),
    ] {
        if value == 0 {
            return Err(invalid(var, "must be at least 1"));
        }
    }
    Ok(OutboundSettings {
        graph_api_base: base.to_string(),
        graph_api_version: version.clone(),
        graph_timeout: Duration::from_millis(raw.graph_timeout_ms),
        number_rate: raw.outbound_number_rate,
        number_burst: raw.outbound_number_burst,
        pair_interval: Duration::from_millis(raw.outbound_pair_interval_ms),
        pair_burst: raw.outbound_pair_burst,
        max_attempts: raw.outbound_max_attempts,
    })
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        reason: reason.into(),
    }
}

fn parse_addr(var: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        invalid(
            var,
            format!("expected host:port with an IP address, got {value:?}"),
        )
    })
}

fn check_scheme(var: &'static str, url: &Secret, schemes: &[&str]) -> Result<(), ConfigError> {
    if schemes.iter().any(|s| url.expose().starts_with(s)) {
        Ok(())
    } else {
        // The value itself may hold a password, so it is not repeated here.
        Err(invalid(
            var,
            format!("must start with one of {}", schemes.join(", ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_point_at_the_local_services() {
        let s = Settings::from_env(Component::Ingress, env(&[])).unwrap();
        assert_eq!(
            s.database_url.expose(),
            "postgres://postgres@127.0.0.1:5432/cita"
        );
        assert!(
            s.amqp_url
                .expose()
                .starts_with("amqp://guest:guest@127.0.0.1:5672/")
        );
        assert_eq!(s.amqp_prefix, "");
        assert_eq!(s.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.admin_addr.to_string(), "127.0.0.1:9101");
        assert_eq!(s.max_body_bytes, 4 * 1024 * 1024);
        assert_eq!(s.publish_timeout, Duration::from_secs(5));
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.prefetch, 16);
        assert_eq!(s.outbound.graph_api_base, "https://graph.facebook.com");
        assert_eq!(s.outbound.graph_api_version, "v23.0");
        assert_eq!(s.outbound.number_rate, 80);
        assert_eq!(s.outbound.pair_interval, Duration::from_secs(6));
    }

    #[test]
    fn outbound_settings_are_validated() {
        let s = Settings::from_env(
            Component::Outbound,
            env(&[
                ("CITA_GRAPH_API_BASE", "http://127.0.0.1:9999/"),
                ("CITA_GRAPH_API_VERSION", "v24.0"),
                ("CITA_OUTBOUND_NUMBER_RATE", "20"),
            ]),
        )
        .unwrap();
        assert_eq!(s.outbound.graph_api_base, "http://127.0.0.1:9999");
        assert_eq!(s.outbound.number_rate, 20);
        assert_eq!(s.prefetch, 256, "outbound keeps many sends in flight");
        assert_eq!(s.admin_addr.to_string(), "127.0.0.1:9104");
        for (var, value) in [
            ("CITA_GRAPH_API_BASE", "graph.facebook.com"),
            ("CITA_GRAPH_API_VERSION", "23"),
            ("CITA_OUTBOUND_PAIR_BURST", "0"),
        ] {
            let err = Settings::from_env(Component::Outbound, env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(var), "{err}");
        }
    }

    #[test]
    fn the_keyring_is_required_and_checked_without_echoing_it() {
        let s = Settings::from_env(Component::Outbound, env(&[])).unwrap();
        assert_eq!(
            s.require_keyring().unwrap_err().to_string(),
            "missing required setting CITA_SECRETS_KEY"
        );
        let s = Settings::from_env(
            Component::Outbound,
            env(&[("CITA_SECRETS_KEY", "k1:deadbeef")]),
        )
        .unwrap();
        let err = s.require_keyring().unwrap_err().to_string();
        assert!(
            err.contains("CITA_SECRETS_KEY") && !err.contains("deadbeef"),
            "{err}"
        );
        let key = format!("k1:{}", "ab".repeat(32));
        let s =
            Settings::from_env(Component::Outbound, env(&[("CITA_SECRETS_KEY", &key)])).unwrap();
        assert_eq!(s.require_keyring().unwrap().current_key_id(), "k1");
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("cita-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("cita.toml");
        std::fs::write(
            &file,
            "amqp_prefix = \"from-file.\"\nmax_body_bytes = 1000\n",
        )
        .unwrap();
        let s = Settings::from_env(
            Component::Ingress,
            env(&[
                ("CITA_CONFIG_FILE", file.to_str().unwrap()),
                ("CITA_MAX_BODY_BYTES", "2000"),
                ("CITA_LOG_FORMAT", "json"),
            ]),
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(s.amqp_prefix, "from-file.");
        assert_eq!(s.max_body_bytes, 2000);
        assert_eq!(s.log_format, LogFormat::Json);
    }

    #[test]
    fn app_secrets_are_a_comma_separated_list() {
        let s = Settings::from_env(
            Component::Ingress,
            env(&[("CITA_META_APP_SECRET", "old, new,")]),
        )
        .unwrap();
        let secrets: Vec<&str> = s
            .require_meta_app_secrets()
            .unwrap()
            .iter()
            .map(Secret::expose)
            .collect();
        assert_eq!(secrets, ["old", "new"]);
    }

    #[test]
    fn a_missing_secret_is_named_in_one_line() {
        let s = Settings::from_env(Component::Ingress, env(&[("CITA_META_APP_SECRET", " , ")]))
            .unwrap();
        let err = s.require_meta_app_secrets().unwrap_err().to_string();
        assert_eq!(err, "missing required setting CITA_META_APP_SECRET");
        let err = s.require_meta_verify_token().unwrap_err().to_string();
        assert_eq!(err, "missing required setting CITA_META_VERIFY_TOKEN");
    }

    #[test]
    fn invalid_values_are_refused_without_echoing_secrets() {
        let err = Settings::from_env(
            Component::Ingress,
            env(&[("CITA_AMQP_URL", "http://user:topsecret@broker")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CITA_AMQP_URL"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");

        let err = Settings::from_env(
            Component::Ingress,
            env(&[("CITA_LISTEN_ADDR", "localhost")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CITA_LISTEN_ADDR"), "{err}");

        let err = Settings::from_env(Component::Ingress, env(&[("CITA_AMQP_PREFIX", "a b")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("CITA_AMQP_PREFIX"), "{err}");
    }

    #[test]
    fn the_anthropic_key_falls_back_to_the_sdk_variable() {
        let none = Settings::from_env(Component::Conversation, env(&[])).unwrap();
        assert!(none.conversation.anthropic_api_key.is_none());
        assert_eq!(none.conversation.model, "claude-sonnet-5-5");
        assert_eq!(none.admin_addr.port(), 9103);
        let sdk = Settings::from_env(
            Component::Conversation,
            env(&[("ANTHROPIC_API_KEY", "sk-sdk")]),
        )
        .unwrap();
        assert_eq!(
            sdk.conversation.anthropic_api_key.unwrap().expose(),
            "sk-sdk"
        );
        let both = Settings::from_env(
            Component::Conversation,
            env(&[
                ("ANTHROPIC_API_KEY", "sk-sdk"),
                ("CITA_ANTHROPIC_API_KEY", "sk-cita"),
                ("CITA_AI_DAILY_BUDGET_USD", "0.25"),
                ("CITA_ANTHROPIC_BASE_URL", "http://127.0.0.1:9999/"),
            ]),
        )
        .unwrap();
        assert_eq!(
            both.conversation.anthropic_api_key.unwrap().expose(),
            "sk-cita"
        );
        assert_eq!(both.conversation.daily_budget_micro_usd, 250_000);
        assert_eq!(
            both.conversation.anthropic_base_url,
            "http://127.0.0.1:9999"
        );
        let err = Settings::from_env(
            Component::Conversation,
            env(&[("CITA_AI_MAX_ITERATIONS", "0")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("CITA_AI_MAX_ITERATIONS"), "{err}");
    }

    #[test]
    fn the_readme_documents_exactly_the_variables_the_binaries_read() {
        let readme = include_str!("../../../README.md");
        let mut documented: Vec<&str> = readme
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .filter(|name| name.starts_with("CITA_"))
            .collect();
        documented.sort_unstable();
        let mut read = VARIABLES.to_vec();
        read.sort_unstable();
        assert_eq!(documented, read);
    }
}
