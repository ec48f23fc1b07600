//! `cita-replay <work queue> [<limit>]`: moves dead-lettered messages of a work queue
//! (`conversation.inbound`, `conversation.turns`, `scheduling.rpc`, `outbound.send`,
//! `reminders.events`) back to work, after the cause was fixed. See
//! `cita_shared::amqp::replay` for what replaying means for each queue.

use anyhow::Context;
use cita_shared::{
    amqp::{Topology, replay},
    config::{Component, Settings},
    db, telemetry,
};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("cita-replay: {error:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (queue, limit) = match args.as_slice() {
        [queue] => (queue.as_str(), usize::MAX),
        [queue, limit] => (
            queue.as_str(),
            limit.parse().context("the limit must be a number")?,
        ),
        _ => anyhow::bail!("usage: cita-replay <work queue> [<limit>]"),
    };
    let settings = Settings::load(Component::Replay)?;
    telemetry::init(settings.log_format);
    // TLS to the backing services is rustls on ring.
    cita_shared::tls::install_provider();
    let pool = db::pool(&settings.database_url, 1)?;
    let topology = Topology::new(&settings.amqp_prefix);
    let moved = replay::replay(&settings.amqp_url, &topology, &pool, queue, limit).await?;
    println!("{moved} messages moved from {queue}.dead back to work");
    Ok(())
}
