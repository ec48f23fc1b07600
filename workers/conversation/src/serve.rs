//! Runs the whole service: the intake and turn consumers, the outbox relay (handoff
//! events), the sweeper for messages left waiting, the purge of old rejected payloads,
//! and the admin server.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    admin::{self, Health},
    amqp::{
        Publisher, PublisherOptions, Topology,
        consumer::{self, ConsumerOptions},
        rpc::RpcClient,
        topology::{CITA_EVENTS, CONVERSATION_INBOUND, CONVERSATION_TURNS, SCHEDULING_RPC},
    },
    config::{ConfigError, Settings},
    db::{self, DbError},
    outbox,
};
use prometheus_client::{metrics::counter::Counter, registry::Registry};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    Clock,
    intake::{self, Intake},
    metrics::Metrics,
    model::Model,
    tools::Toolbox,
    turns::{Turns, sweeper},
};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("building the Messages API client: {0}")]
    Model(#[from] anthropic_sdk::Error),
}

/// How often waiting messages are looked for, and how long a message may wait before a
/// turn request is made again.
const SWEEP_EVERY: Duration = Duration::from_secs(15);
const SWEEP_AFTER: Duration = Duration::from_secs(30);
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// A scheduling request answers in milliseconds; this bounds a broken one.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs until `shutdown`; then both consumers are cancelled and the deliveries in hand
/// (turns included) finish.
pub async fn serve(
    settings: &Settings,
    admin_listener: TcpListener,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let model = Model::from_settings(&settings.conversation).transpose()?;
    if model.is_none() {
        tracing::info!("no Anthropic API key: every conversation is answered in guided mode");
    }
    let pool = db::pool(&settings.database_url, settings.database_pool_size)?;
    let topology = Topology::new(&settings.amqp_prefix);
    let health = Health::default();
    let publisher_ready = health.register("amqp");
    let (publisher, publisher_task) = Publisher::start(
        settings.amqp_url.clone(),
        topology.clone(),
        PublisherOptions {
            connection_name: format!("{}-publisher", settings.component.name()),
            confirm_timeout: settings.publish_timeout,
            channels: 2,
        },
        publisher_ready.clone(),
    );
    let admin_stop = CancellationToken::new();
    let mut registry = Registry::with_prefix("cita");
    let metrics = Metrics::register(&mut registry);
    let relayed = Counter::default();
    registry.register(
        "conversation_events_relayed",
        "Events published from the outbox to cita.events",
        relayed.clone(),
    );
    let admin = tokio::spawn(admin::serve(
        admin_listener,
        health.clone(),
        Arc::new(registry),
        admin_stop.clone(),
    ));
    let relay = tokio::spawn(outbox::run(
        pool.clone(),
        publisher.clone(),
        topology.name(CITA_EVENTS),
        relayed,
        shutdown.clone(),
    ));
    let sweeper = tokio::spawn(sweeper::run(
        pool.clone(),
        publisher.clone(),
        topology.clone(),
        SWEEP_EVERY,
        SWEEP_AFTER,
        shutdown.clone(),
    ));
    let purge = tokio::spawn(purge(
        pool.clone(),
        settings.conversation.rejected_retention,
        shutdown.clone(),
    ));
    let scheduling = Arc::new(RpcClient::new(
        settings.amqp_url.clone(),
        format!("{}-scheduling", settings.component.name()),
        topology.clone(),
        SCHEDULING_RPC,
    ));
    let turns = Arc::new(Turns {
        pool: pool.clone(),
        publisher: publisher.clone(),
        topology: topology.clone(),
        toolbox: Toolbox {
            pool: pool.clone(),
            scheduling,
            publisher: publisher.clone(),
            topology: topology.clone(),
            rpc_timeout: RPC_TIMEOUT,
        },
        model,
        settings: settings.conversation.clone(),
        metrics: metrics.clone(),
        clock,
        cooldown: Default::default(),
    });
    let intake = Arc::new(Intake {
        pool,
        publisher: publisher.clone(),
        topology: topology.clone(),
        metrics,
    });
    let inbound = ConsumerOptions {
        url: settings.amqp_url.clone(),
        topology: topology.clone(),
        queue: CONVERSATION_INBOUND,
        prefetch: settings.prefetch,
        connection_name: format!("{}-intake", settings.component.name()),
    };
    let turn_options = ConsumerOptions {
        url: settings.amqp_url.clone(),
        topology,
        queue: CONVERSATION_TURNS,
        prefetch: settings.conversation.turn_concurrency,
        connection_name: format!("{}-turns", settings.component.name()),
    };
    tokio::join!(
        consumer::run(
            &inbound,
            intake,
            &publisher_ready,
            health.register("intake"),
            &shutdown
        ),
        consumer::run(
            &turn_options,
            turns,
            &publisher_ready,
            health.register("turns"),
            &shutdown
        ),
    );

    let _ = relay.await;
    let _ = sweeper.await;
    let _ = purge.await;
    publisher.close();
    let _ = publisher_task.await;
    admin_stop.cancel();
    let _ = admin.await;
    tracing::info!("conversation stopped");
    Ok(())
}

async fn purge(pool: deadpool_postgres::Pool, retention: Duration, shutdown: CancellationToken) {
    loop {
        match intake::store::purge(&pool, retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged old rejected webhooks and early statuses"),
            Err(error) => tracing::warn!(%error, "cannot purge old rejected webhooks"),
        }
        tokio::select! {
            () = tokio::time::sleep(PURGE_EVERY) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
