use cita_shared::{cli, clock::Clock, config::Component, shutdown};

#[tokio::main]
async fn main() {
    cli::exit_on_error(Component::Conversation, run().await);
}

async fn run() -> anyhow::Result<()> {
    let settings = cli::start(Component::Conversation)?;
    let model = cita_conversation::serve::prepare(&settings)?;
    let admin = cli::admin(&settings).await?;
    tracing::info!(model = %settings.conversation.model, "answering");
    let clock = Clock::system();
    cita_conversation::serve::run(&settings, model, admin, clock, shutdown::on_signal()).await?;
    Ok(())
}
