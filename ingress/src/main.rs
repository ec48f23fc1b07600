use cita_shared::{cli, config::Component, shutdown};

#[tokio::main]
async fn main() {
    cli::exit_on_error(Component::Ingress, run().await);
}

async fn run() -> anyhow::Result<()> {
    let settings = cli::start(Component::Ingress)?;
    // Refuse to start without the secrets before binding anything.
    cita_ingress::IngressConfig::from_settings(&settings)?;
    let listener = cli::bind("CITA_LISTEN_ADDR", settings.listen_addr).await?;
    let admin = cli::admin(&settings).await?;
    tracing::info!(listen = %settings.listen_addr, "receiving webhooks");
    cita_ingress::serve(&settings, listener, admin, shutdown::on_signal()).await?;
    Ok(())
}
