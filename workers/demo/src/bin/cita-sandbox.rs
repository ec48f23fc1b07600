//! `cita-sandbox [--listen 127.0.0.1:9190] [--ingress http://127.0.0.1:8080/webhooks/whatsapp]`:
//! the local stand-in for Meta's Graph API that `make run` starts when no real one is
//! configured. Point `CITA_GRAPH_API_BASE` at it. Status webhooks are signed with the
//! first of `CITA_META_APP_SECRET`'s secrets.

use anyhow::Context;
use cita_shared::{config::LogFormat, shutdown, telemetry};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("cita-sandbox: {error:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    telemetry::init(LogFormat::Text);
    let mut listen = "127.0.0.1:9190".to_owned();
    let mut ingress = "http://127.0.0.1:8080/webhooks/whatsapp".to_owned();
    for (flag, value) in cita_demo::flags().map_err(anyhow::Error::msg)? {
        match flag.as_str() {
            "--listen" => listen = value,
            "--ingress" => ingress = value,
            other => anyhow::bail!(
                "unknown flag {other:?}; usage: cita-sandbox [--listen ADDR] [--ingress URL]"
            ),
        }
    }
    let secret = cita_demo::app_secret();
    let listener = TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(%listen, %ingress, "sandbox Graph API ready; statuses go to the ingress");
    cita_demo::sandbox::run(listener, ingress, secret, shutdown::on_signal()).await;
    tracing::info!("sandbox stopped");
    Ok(())
}
