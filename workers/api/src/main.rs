//! `cita-api` serves the owner's and staff's HTTP API.
//! `cita-api --openapi` prints the OpenAPI document.
//! `cita-api operator-token <operator> <minutes> <reason…>` records a grant for a platform
//! operator and prints its token (it reads tenant routes only, naming the organization,
//! and each use is in that organization's audit log); `cita-api operator-revoke <grant
//! id>` ends one. Both connect as `CITA_DATABASE_URL`'s user, not the API's role.

use anyhow::Context;
use cita_api::auth::operators;
use cita_shared::{
    cli,
    clock::Clock,
    config::{Component, Settings},
    db, shutdown,
};

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = if args.is_empty() {
        cli::start(Component::Api)?
    } else {
        cli::start_command(Component::Api)?
    };
    settings.api.require_token_keys()?;
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => serve(&settings).await,
        ["operator-token", operator, minutes, ref reason @ ..] if !reason.is_empty() => {
            let minutes = minutes.parse().context("minutes must be a whole number")?;
            operator_token(&settings, operator, minutes, &reason.join(" ")).await
        }
        ["operator-revoke", grant] => {
            let grant = grant.parse().context("a grant id is a UUID")?;
            let client = owner_connection(&settings).await?;
            anyhow::ensure!(
                operators::revoke(&client, grant).await?,
                "no live grant {grant}"
            );
            eprintln!("grant {grant} revoked");
            Ok(())
        }
        _ => anyhow::bail!(
            "usage: cita-api [--openapi | operator-token <operator> <minutes> <reason…> | operator-revoke <grant id>]"
        ),
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let admin = cli::admin(settings).await?;
    let listener = cli::bind("CITA_LISTEN_ADDR", settings.listen_addr).await?;
    cita_api::serve(
        settings,
        listener,
        admin,
        Clock::system(),
        shutdown::on_signal(),
    )
    .await?;
    Ok(())
}

async fn owner_connection(settings: &Settings) -> anyhow::Result<deadpool_postgres::Object> {
    let pool = db::pool(&settings.database_url, 1)?;
    pool.get().await.context("cannot reach PostgreSQL")
}

/// Prints the token alone on standard output, and what it grants on standard error.
async fn operator_token(
    settings: &Settings,
    operator: &str,
    minutes: i64,
    reason: &str,
) -> anyhow::Result<()> {
    let client = owner_connection(settings).await?;
    let minted = operators::mint(
        &client,
        &settings.api.token_keys,
        operator,
        reason,
        minutes,
        jiff::Timestamp::now(),
    )
    .await?;
    eprintln!(
        "grant {} for {operator} until {}; send the organization's id in Cita-Organization",
        minted.grant_id, minted.expires_at
    );
    println!("{}", minted.token);
    Ok(())
}
