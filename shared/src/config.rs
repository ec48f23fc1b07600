//! Configuration: defaults in code → optional TOML file (`CITA_CONFIG_FILE`) → `CITA_*`
//! environment variables. Everything is validated once, at start, into [`Settings`].

use std::{collections::HashMap, net::SocketAddr, path::PathBuf, time::Duration};

use serde::Deserialize;

use crate::secret::Secret;

/// The binaries of the fleet. Each has its own admin port so that the whole fleet can run
/// on one machine with the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Ingress,
    Scheduling,
    Migrate,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Ingress => "cita-ingress",
            Component::Scheduling => "cita-scheduling",
            Component::Migrate => "cita-migrate",
        }
    }

    fn default_admin_addr(self) -> SocketAddr {
        let port = match self {
            Component::Ingress => 9101,
            Component::Scheduling => 9102,
            // Migrate runs to completion and serves nothing; the port is never bound.
            Component::Migrate => 9100,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
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
    meta_app_secret: Option<Secret>,
    meta_verify_token: Option<Secret>,
    #[serde(default = "defaults::listen_addr")]
    listen_addr: String,
    admin_addr: Option<String>,
    #[serde(default = "defaults::max_body_bytes")]
    max_body_bytes: usize,
    #[serde(default = "defaults::publish_timeout_ms")]
    publish_timeout_ms: u64,
    #[serde(default = "defaults::prefetch")]
    prefetch: u16,
    #[serde(default = "defaults::shutdown_timeout_ms")]
    shutdown_timeout_ms: u64,
    #[serde(default = "defaults::log_format")]
    log_format: LogFormat,
}

mod defaults {
    use super::{LogFormat, Secret};

    pub fn database_url() -> Secret {
        Secret::new("postgres://postgres@127.0.0.1:5432/cita")
    }
    pub fn database_pool_size() -> usize {
        16
    }
    pub fn prefetch() -> u16 {
        // Enough to keep a worker's database connections busy while replies travel,
        // few enough that a crashed worker returns little to the queue.
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
        Self::validate(component, raw)
    }

    fn validate(component: Component, raw: Raw) -> Result<Self, ConfigError> {
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
        if raw.prefetch == 0 {
            return Err(invalid("CITA_PREFETCH", "must be at least 1"));
        }
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
            prefetch: raw.prefetch,
            shutdown_timeout: Duration::from_millis(raw.shutdown_timeout_ms),
            log_format: raw.log_format,
        })
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
}
