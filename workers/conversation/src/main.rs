use std::sync::Arc;

use anyhow::Context;
use cita_shared::{
    config::{Component, Settings},
    shutdown, telemetry,
};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("cita-conversation: {error:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::load(Component::Conversation)?;
    telemetry::init(settings.log_format);
    let admin_listener = TcpListener::bind(settings.admin_addr)
        .await
        .with_context(|| format!("binding CITA_ADMIN_ADDR {}", settings.admin_addr))?;
    tracing::info!(admin = %settings.admin_addr, model = %settings.conversation.model, "conversation starting");
    let clock: cita_conversation::Clock = Arc::new(jiff::Timestamp::now);
    cita_conversation::serve(&settings, admin_listener, clock, shutdown::on_signal()).await?;
    Ok(())
}
