//! Configuration: defaults in code → optional TOML file (`CITA_CONFIG_FILE`) → `CITA_*`
//! environment variables. Everything is validated once, at start, into [`Settings`].

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

use crate::{
    crypto::Keyring,
    error::Chain,
    secret::Secret,
    tls::{Endpoint, Roots},
};

mod api;
mod conversation;
mod defaults;
mod names;
mod outbound;
mod payments;
mod retention;

pub use api::{ApiSettings, TokenKey};
pub use conversation::{ConversationSettings, ModelPrices};
pub use names::VARIABLES;
pub use outbound::OutboundSettings;
pub use payments::PaymentSettings;
pub use retention::RetentionSettings;

/// The binaries of the fleet. Each has its own admin port so that the whole fleet can run
/// on one machine with the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Ingress,
    Scheduling,
    Conversation,
    Outbound,
    Reminders,
    Api,
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
            Component::Api => "cita-api",
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
            Component::Api => 9106,
            // These run to completion and serve nothing; the port is never bound.
            Component::Migrate | Component::Replay => 9100,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Where the binary serves HTTP when `CITA_LISTEN_ADDR` is not set: the ingress the
    /// webhook, the API people.
    fn default_listen_addr(self) -> SocketAddr {
        let port = match self {
            Component::Api => 8081,
            _ => 8080,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Whether this binary reads the sending settings (`CITA_GRAPH_*`, `CITA_OUTBOUND_*`).
    fn sends(self) -> bool {
        self == Component::Outbound
    }

    /// Whether this binary reads the assistant's settings (`CITA_AI_*`, `CITA_ANTHROPIC_*`, …).
    fn converses(self) -> bool {
        self == Component::Conversation
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
    #[error("could not read configuration")]
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
    /// Each backing service's URL travels with the roots its TLS trusts (the system's and
    /// `CITA_TLS_CA_FILE`'s), so no connection can leave them behind.
    pub database_url: Endpoint,
    pub database_pool_size: usize,
    pub amqp_url: Endpoint,
    /// Prepended to every exchange and queue name, so that tests and environments can
    /// share one broker.
    pub amqp_prefix: String,
    pub redis_url: Endpoint,
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
    /// Sending settings; defaults for binaries that don't send (not validated there).
    pub outbound: OutboundSettings,
    /// The assistant's settings; defaults for binaries that don't converse.
    pub conversation: ConversationSettings,
    /// The owner API's settings; defaults elsewhere.
    pub api: ApiSettings,
    /// How long bookkeeping is kept (read by `cita-reminders`, which prunes it).
    pub retention: RetentionSettings,
    pub payments: PaymentSettings,
    /// What the sources hold that no binary reads (a mistyped name, say), to be logged
    /// once logging is up.
    pub warnings: Vec<String>,
}

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
    tls_ca_file: Option<String>,
    meta_app_secret: Option<Secret>,
    meta_verify_token: Option<Secret>,
    listen_addr: Option<String>,
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
    outbox_retention_hours: Option<u64>,
    dedupe_retention_hours: Option<u64>,
    notification_retention_hours: Option<u64>,
    ai_cooldown_seconds: Option<u64>,
    guided_idle_minutes: Option<u64>,
    api_token_keys: Option<Secret>,
    api_database_role: Option<String>,
    api_rpc_timeout_ms: Option<u64>,
    api_session_requests_per_minute: Option<u64>,
    mercadopago_webhook_secret: Option<Secret>,
    mercadopago_api_base: Option<String>,
    mercadopago_notification_url: Option<String>,
    mercadopago_signature_tolerance_secs: Option<u64>,
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
        let warnings = names::unknown_variables(env.keys());
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
        let mut settings = Self::validate(component, raw, anthropic_fallback)?;
        settings.warnings = warnings;
        Ok(settings)
    }

    fn validate(
        component: Component,
        raw: Raw,
        anthropic_fallback: Option<Secret>,
    ) -> Result<Self, ConfigError> {
        // A binary checks only the sections it reads: a bad AI setting must not stop the
        // ingress. The others keep their defaults.
        let defaults = || -> Raw {
            config::Config::builder()
                .build()
                .and_then(config::Config::try_deserialize)
                .expect("every setting has a default")
        };
        let outbound = if component.sends() {
            outbound::validate(&raw)?
        } else {
            outbound::validate(&defaults())?
        };
        let retention = if component == Component::Reminders {
            retention::validate(&raw)?
        } else {
            retention::validate(&defaults())?
        };
        let api = if component == Component::Api {
            api::validate(&raw)?
        } else {
            api::validate(&defaults())?
        };
        let conversation = if component.converses() {
            conversation::validate(&raw, anthropic_fallback)?
        } else {
            conversation::validate(&defaults(), None)?
        };
        let meta_app_secrets = secret_list(raw.meta_app_secret.as_ref());
        let payments = payments::validate(&raw)?;
        let meta_verify_token = raw.meta_verify_token.filter(|t| !t.expose().is_empty());

        check_scheme(
            "CITA_DATABASE_URL",
            &raw.database_url,
            &["postgres://", "postgresql://"],
        )?;
        check_scheme("CITA_AMQP_URL", &raw.amqp_url, &["amqp://", "amqps://"])?;
        check_scheme("CITA_REDIS_URL", &raw.redis_url, &["redis://", "rediss://"])?;
        if raw.redis_url.expose().contains('#') {
            // redis reads `#insecure` as "skip certificate checks".
            return Err(invalid(
                "CITA_REDIS_URL",
                "no #fragment: rediss:// always verifies the server",
            ));
        }
        crate::db::transport(raw.database_url.expose())
            .map_err(|e| invalid("CITA_DATABASE_URL", e.to_string()))?;
        let roots = match raw.tls_ca_file.as_deref().map(str::trim) {
            Some(path) if !path.is_empty() => Roots::from_pem_file(Path::new(path))
                .map_err(|e| invalid("CITA_TLS_CA_FILE", Chain(&e).to_string()))?,
            _ => Roots::default(),
        };
        let endpoint = |url: Secret| Endpoint::from(url).with_roots(roots.clone());
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
        let listen_addr = match raw.listen_addr.as_deref() {
            Some(addr) => parse_addr("CITA_LISTEN_ADDR", addr)?,
            None => component.default_listen_addr(),
        };
        let admin_addr = match raw.admin_addr.as_deref() {
            Some(addr) => parse_addr("CITA_ADMIN_ADDR", addr)?,
            None => component.default_admin_addr(),
        };

        Ok(Settings {
            component,
            database_url: endpoint(raw.database_url),
            database_pool_size: raw.database_pool_size,
            amqp_url: endpoint(raw.amqp_url),
            amqp_prefix: raw.amqp_prefix,
            redis_url: endpoint(raw.redis_url),
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
            api,
            retention,
            payments,
            warnings: Vec::new(),
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

/// Comma-separated secrets (several at once during a rotation).
fn secret_list(all: Option<&Secret>) -> Vec<Secret> {
    all.map(|all| {
        all.expose()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .collect()
    })
    .unwrap_or_default()
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
mod tests;
