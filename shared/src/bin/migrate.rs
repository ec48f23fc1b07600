//! `cita-migrate [--seed]`: creates the database if needed, applies pending migrations,
//! and with `--seed` loads the demo organization. Safe to run twice, or twice at once.

use anyhow::Context;
use cita_shared::{
    config::{Component, Settings},
    db, telemetry,
};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        // One line, cause chain included, so a bad setting is obvious in any log.
        eprintln!("cita-migrate: {error:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let seed = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--seed") => true,
        Some(other) => anyhow::bail!("unknown argument {other:?}; usage: cita-migrate [--seed]"),
    };
    let settings = Settings::load(Component::Migrate)?;
    telemetry::init(settings.log_format);
    // TLS to the backing services is rustls on ring.
    cita_shared::tls::install_provider();

    if db::create_database_if_missing(&settings.database_url).await? {
        tracing::info!("created the database");
    }
    let pool = db::pool(&settings.database_url, 1)?;
    let mut client = pool.get().await.context("connecting to PostgreSQL")?;
    let applied = db::migrate(&mut client)
        .await
        .context("applying migrations")?;
    tracing::info!(
        ?applied,
        total = db::MIGRATIONS.len(),
        "migrations up to date"
    );
    if seed {
        db::seed(&mut client)
            .await
            .context("loading the demo seed")?;
        tracing::info!(seeds = db::SEEDS.len(), "demo data loaded");
    }
    Ok(())
}
