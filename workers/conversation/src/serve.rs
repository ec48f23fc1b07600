//! Runs the whole service: the intake and turn consumers, the outbox relay (handoff
//! events), the sweeper for messages left waiting, and the admin server.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    amqp::{
        rpc::RpcClient,
        topology::{CONVERSATION_INBOUND, CONVERSATION_TURNS, SCHEDULING_RPC},
    },
    config::{ConfigError, Settings},
    db::DbError,
    runtime::{Consume, Worker},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    Clock,
    intake::Intake,
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
    #[error("building the Messages API client")]
    Model(#[from] anthropic_sdk::Error),
}

/// How often waiting messages are looked for, and how long a message may wait before a
/// turn request is made again.
const SWEEP_EVERY: Duration = Duration::from_secs(15);
const SWEEP_AFTER: Duration = Duration::from_secs(30);
/// A scheduling request answers in milliseconds; this bounds a broken one.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);
/// A turn waits out a database or broker outage for a minute in place: the person is
/// waiting, and the sweeper asks again for what is requeued.
const TURN_PATIENCE: Duration = Duration::from_secs(60);

/// Builds the model client (checking its settings) before anything binds or connects.
pub fn prepare(settings: &Settings) -> Result<Option<Model>, ServeError> {
    Ok(Model::from_settings(&settings.conversation).transpose()?)
}

/// [`prepare`], then [`run`].
pub async fn serve(
    settings: &Settings,
    admin_listener: TcpListener,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    run(
        settings,
        prepare(settings)?,
        admin_listener,
        clock,
        shutdown,
    )
    .await
}

/// Runs until `shutdown`; then both consumers are cancelled and the deliveries in hand
/// (turns included) finish within the shutdown timeout.
pub async fn run(
    settings: &Settings,
    model: Option<Model>,
    admin_listener: TcpListener,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    if model.is_none() {
        tracing::info!("no Anthropic API key: every conversation is answered in guided mode");
    }
    let mut worker = Worker::new(settings, clock.clone(), shutdown.clone(), 2)?;
    let metrics = Metrics::register(worker.registry());
    worker.relay_outbox("conversation_events_relayed");
    let pool = worker.pool.clone();
    worker.spawn(sweeper::run(
        pool.clone(),
        worker.publisher.clone(),
        worker.topology.clone(),
        SWEEP_EVERY,
        SWEEP_AFTER,
        shutdown.clone(),
    ));
    let scheduling = Arc::new(RpcClient::new(
        settings.amqp_url.clone(),
        format!("{}-scheduling", settings.component.name()),
        worker.topology.clone(),
        SCHEDULING_RPC,
    ));
    let turns = Arc::new(Turns {
        toolbox: Toolbox {
            pool: pool.clone(),
            scheduling,
            publisher: worker.publisher.clone(),
            topology: worker.topology.clone(),
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
        publisher: worker.publisher.clone(),
        topology: worker.topology.clone(),
        metrics,
    });
    worker.consume(
        Consume::new(CONVERSATION_INBOUND, "intake", settings.prefetch),
        intake,
    );
    worker.consume(
        Consume::new(
            CONVERSATION_TURNS,
            "turns",
            settings.conversation.turn_concurrency,
        )
        .with_patience(TURN_PATIENCE),
        turns,
    );
    worker.run(admin_listener).await;
    Ok(())
}
