//! `cita-outbound` serves `outbound.send`.
//! `cita-outbound set-token <organization id or slug> [<phone number id>]` reads an
//! access token from standard input (never from the command line, where `ps` would show
//! it), stores it sealed, lifts a pause and resumes the organization's parked sends.
//! `cita-outbound reseal` re-seals every token with the first key of `CITA_SECRETS_KEY`
//! (the step of a key rotation before the old key is removed).

use std::io::Read;

use anyhow::Context;
use cita_outbound::tokens;
use cita_shared::{
    amqp::{Publisher, PublisherOptions, Topology},
    cli,
    config::{Component, Settings},
    db,
    secret::Secret,
    shutdown,
};

#[tokio::main]
async fn main() {
    cli::exit_on_error(Component::Outbound, run().await);
}

async fn run() -> anyhow::Result<()> {
    let settings = cli::start(Component::Outbound)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => serve(&settings).await,
        ["reseal"] => {
            let keyring = settings.require_keyring()?;
            let pool = db::pool(&settings.database_url, 2)?;
            let resealed = tokens::reseal(&pool, &keyring).await?;
            println!(
                "{resealed} tokens re-sealed with key {}",
                keyring.current_key_id()
            );
            Ok(())
        }
        ["set-token", organization] => set_token(&settings, organization, None).await,
        ["set-token", organization, phone_number_id] => {
            set_token(&settings, organization, Some(phone_number_id)).await
        }
        _ => anyhow::bail!(
            "usage: cita-outbound [set-token <organization id or slug> [<phone number id>] | reseal]"
        ),
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let prepared = cita_outbound::serve::prepare(settings)?;
    let admin = cli::admin(settings).await?;
    tracing::info!(graph = %settings.outbound.graph_api_base, "sending through the Graph API");
    cita_outbound::serve::run(settings, prepared, admin, shutdown::on_signal()).await?;
    Ok(())
}

async fn set_token(
    settings: &Settings,
    organization: &str,
    phone_number_id: Option<&str>,
) -> anyhow::Result<()> {
    let keyring = settings.require_keyring()?;
    let mut token = String::new();
    std::io::stdin()
        .read_to_string(&mut token)
        .context("reading the token from standard input")?;
    let pool = db::pool(&settings.database_url, 2)?;
    let id = tokens::store(
        &pool,
        &keyring,
        organization,
        phone_number_id,
        &Secret::new(token),
    )
    .await?;
    let topology = Topology::new(&settings.amqp_prefix);
    let ready = cita_shared::admin::Health::default().register("amqp");
    let (publisher, task) = Publisher::start(
        settings.amqp_url.clone(),
        topology.clone(),
        PublisherOptions {
            connection_name: "cita-outbound-set-token".into(),
            confirm_timeout: settings.publish_timeout,
            channels: 1,
            ..Default::default()
        },
        ready.clone(),
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), ready.ready())
        .await
        .context("the token is stored, but the broker is unreachable: parked sends were not resumed; run again")?;
    let resumed = tokens::resume(&pool, &publisher, &topology, id).await?;
    publisher.close();
    let _ = task.await;
    println!("token stored for organization {id}; {resumed} parked sends resumed");
    Ok(())
}
