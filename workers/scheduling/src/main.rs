use cita_shared::{cli, clock::Clock, config::Component, shutdown};

#[tokio::main]
async fn main() {
    cli::exit_on_error(Component::Scheduling, run().await);
}

async fn run() -> anyhow::Result<()> {
    let settings = cli::start(Component::Scheduling)?;
    let admin = cli::admin(&settings).await?;
    cita_scheduling::serve(&settings, admin, Clock::system(), shutdown::on_signal()).await?;
    Ok(())
}
