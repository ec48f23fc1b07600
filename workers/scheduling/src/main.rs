//! `cita-scheduling` serves `scheduling.rpc`, relays its outbox, makes deposits' payment
//! links and settles Mercado Pago's payments.
//! `cita-scheduling connect-mercadopago <organization id or slug> <seller user id>` reads
//! the business's Mercado Pago access token from standard input (never from the command
//! line, where `ps` would show it) and stores it sealed, for its deposits.

use std::io::Read;

use anyhow::Context;
use cita_scheduling::payments::accounts;
use cita_shared::{cli, clock::Clock, config::Component, db, secret::Secret, shutdown};

#[tokio::main]
async fn main() {
    cli::exit_on_error(Component::Scheduling, run().await);
}

async fn run() -> anyhow::Result<()> {
    let settings = cli::start(Component::Scheduling)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {
            let admin = cli::admin(&settings).await?;
            cita_scheduling::serve(&settings, admin, Clock::system(), shutdown::on_signal())
                .await?;
            Ok(())
        }
        ["connect-mercadopago", organization, seller] => {
            let keyring = settings.require_keyring()?;
            let mut token = String::new();
            std::io::stdin()
                .read_to_string(&mut token)
                .context("reading the token from standard input")?;
            anyhow::ensure!(!token.trim().is_empty(), "no token on standard input");
            let pool = db::pool(&settings.database_url, 2)?;
            let id = accounts::organization(&pool, organization)
                .await?
                .with_context(|| format!("no organization with id or slug {organization:?}"))?;
            accounts::store(&pool, &keyring, id, seller, &Secret::new(token)).await?;
            println!("Mercado Pago account {seller} connected to organization {id}");
            Ok(())
        }
        _ => anyhow::bail!(
            "usage: cita-scheduling [connect-mercadopago <organization id or slug> <seller user id>]"
        ),
    }
}
