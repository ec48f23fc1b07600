use cita_shared::{cli, clock::Clock, config::Component, shutdown};

#[tokio::main]
async fn main() {
    cli::exit_on_error(Component::Api, run().await);
}

async fn run() -> anyhow::Result<()> {
    // The document needs no settings: `cita-api --openapi > workers/api/openapi.json`.
    if std::env::args().nth(1).as_deref() == Some("--openapi") {
        println!("{}", cita_api::routes::openapi().to_pretty_json()?);
        return Ok(());
    }
    let settings = cli::start(Component::Api)?;
    settings.api.require_token_keys()?;
    let admin = cli::admin(&settings).await?;
    let listener = cli::bind("CITA_LISTEN_ADDR", settings.listen_addr).await?;
    cita_api::serve(
        &settings,
        listener,
        admin,
        Clock::system(),
        shutdown::on_signal(),
    )
    .await?;
    Ok(())
}
