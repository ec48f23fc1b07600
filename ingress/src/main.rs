use anyhow::Context;
use cita_shared::{
    config::{Component, Settings},
    shutdown, telemetry,
};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        // One line, cause chain included: "cita-ingress: missing required setting …".
        eprintln!("cita-ingress: {error:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::load(Component::Ingress)?;
    // Refuse to start without the secrets before binding anything.
    cita_ingress::IngressConfig::from_settings(&settings)?;
    telemetry::init(settings.log_format);

    let listener = TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("binding CITA_LISTEN_ADDR {}", settings.listen_addr))?;
    let admin_listener = TcpListener::bind(settings.admin_addr)
        .await
        .with_context(|| format!("binding CITA_ADMIN_ADDR {}", settings.admin_addr))?;
    tracing::info!(listen = %settings.listen_addr, admin = %settings.admin_addr, "ingress starting");

    cita_ingress::serve(&settings, listener, admin_listener, shutdown::on_signal()).await?;
    Ok(())
}
