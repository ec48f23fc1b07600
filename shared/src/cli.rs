//! What every binary does before its own work: answer `--version`, load and check the
//! settings (before anything binds or connects, so a bad setting stops it with one line
//! and leaves nothing half-started), start logging, and bind its admin port.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::{
    config::{Component, ConfigError, Settings},
    metrics::{COMMIT, VERSION},
    telemetry,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("binding {var} {addr}")]
    Bind {
        var: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// `cita-scheduling 0.1.0 (commit 1a2b3c4d5e6f)`.
pub fn version(component: Component) -> String {
    format!("{} {VERSION} (commit {COMMIT})", component.name())
}

/// Prints the version and exits when the first argument is `--version` (or `-V`);
/// otherwise loads the settings, starts logging and logs what the sources hold that no
/// binary reads.
pub fn start(component: Component) -> Result<Settings, ConfigError> {
    start_logging(component, telemetry::init)
}

/// [`start`] for a command whose standard output is its answer (a token to copy): the
/// log, warnings included, goes to standard error.
pub fn start_command(component: Component) -> Result<Settings, ConfigError> {
    start_logging(component, telemetry::init_to_stderr)
}

fn start_logging(
    component: Component,
    init: fn(crate::config::LogFormat),
) -> Result<Settings, ConfigError> {
    if matches!(std::env::args().nth(1).as_deref(), Some("--version" | "-V")) {
        println!("{}", version(component));
        std::process::exit(0);
    }
    let settings = Settings::load(component)?;
    // Before anything connects: TLS to the backing services (and outbound's HTTPS) is
    // rustls on ring.
    crate::tls::install_provider();
    init(settings.log_format);
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    Ok(settings)
}

/// Binds `addr` (the value of `var`).
pub async fn bind(var: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { var, addr, source })
}

/// Binds the admin port and says the binary is starting.
pub async fn admin(settings: &Settings) -> Result<TcpListener, StartError> {
    let listener = bind("CITA_ADMIN_ADDR", settings.admin_addr).await?;
    tracing::info!(admin = %settings.admin_addr, version = VERSION, commit = COMMIT, "{} starting", settings.component.name());
    Ok(listener)
}

/// Ends the process with one line, cause chain included, when `result` is an error:
/// `cita-outbound: missing required setting CITA_SECRETS_KEY`.
pub fn exit_on_error(component: Component, result: anyhow::Result<()>) {
    if let Err(error) = result {
        eprintln!("{}: {error:#}", component.name());
        std::process::exit(1);
    }
}
