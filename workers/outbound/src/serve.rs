//! Runs the whole service: the `outbound.send` consumer, the outbox relay (for
//! `message.failed` and `organization.token_invalid`) and the admin server.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    amqp::topology::OUTBOUND_SEND,
    clock::Clock,
    config::{ConfigError, Settings},
    crypto::Keyring,
    db::DbError,
    error::{Chain, Infra},
    runtime::{Consume, Worker},
    tls::Endpoint,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    graph::{GraphClient, GraphError},
    metrics::Metrics,
    pacing::{MAX_WAIT_IN_PLACE, Pace, Pacer},
    sender::{Limits, Outbound},
    sequencer::Sequencer,
};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("building the Graph API client")]
    Graph(#[from] GraphError),
}

/// What outbound needs that can be wrong before it starts: the keys and the client.
pub struct Prepared {
    keyring: Keyring,
    graph: GraphClient,
}

/// Checks the keys and builds the Graph API client, before anything binds or connects.
pub fn prepare(settings: &Settings) -> Result<Prepared, ServeError> {
    Ok(Prepared {
        keyring: settings.require_keyring()?,
        graph: GraphClient::new(&settings.outbound)?,
    })
}

/// [`prepare`], then [`run`].
pub async fn serve(
    settings: &Settings,
    admin_listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    run(settings, prepare(settings)?, admin_listener, shutdown).await
}

/// Runs until `shutdown`; then the consumer is cancelled and the sends in hand finish.
pub async fn run(
    settings: &Settings,
    prepared: Prepared,
    admin_listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let clock = Clock::system();
    let mut worker = Worker::new(settings, clock.clone(), shutdown.clone(), 2)?;
    let metrics = Metrics::register(worker.registry());
    worker.relay_outbox("outbound_events_relayed");
    worker.spawn(count_paused(
        worker.pool.clone(),
        metrics.organizations_paused.clone(),
        shutdown.clone(),
    ));
    // Connected before consuming when Redis answers, so the first sends are paced too;
    // otherwise retried in the background.
    let pacer = Arc::new(tokio::sync::OnceCell::new());
    let redis_url = settings.redis_url.clone();
    match Pacer::connect(&redis_url, &settings.amqp_prefix).await {
        Ok(connected) => {
            let _ = pacer.set(connected);
        }
        Err(error) => {
            tracing::warn!(%error, "Redis unavailable; sends are not paced by Cita until it answers");
            worker.spawn(connect_pacer(
                redis_url,
                settings.amqp_prefix.clone(),
                pacer.clone(),
                shutdown.clone(),
            ));
        }
    }
    let limits = &settings.outbound;
    let outbound = Arc::new(Outbound {
        pool: worker.pool.clone(),
        graph: prepared.graph,
        keyring: prepared.keyring,
        pacer,
        limits: Limits {
            number_rate: limits.number_rate,
            number_burst: limits.number_burst,
            pair: Pace {
                interval: limits.pair_interval,
                burst: limits.pair_burst,
            },
            max_attempts: limits.max_attempts,
            lease: (MAX_WAIT_IN_PLACE + limits.graph_timeout) * 2 + Duration::from_secs(20),
        },
        sequencer: Arc::new(Sequencer::default()),
        metrics,
        clock,
        shutdown,
    });
    worker.consume(
        Consume::new(OUTBOUND_SEND, "consumer", settings.prefetch),
        outbound,
    );
    worker.run(admin_listener).await;
    Ok(())
}

/// Keeps the paused-organizations gauge current (an operator must store a new token).
async fn count_paused(
    pool: deadpool_postgres::Pool,
    gauge: prometheus_client::metrics::gauge::Gauge,
    shutdown: CancellationToken,
) {
    const EVERY: Duration = Duration::from_secs(30);
    loop {
        let counted = async {
            let client = pool.get().await.map_err(Infra::from)?;
            let row = client
                .query_one(
                    "SELECT count(*) FROM organizations WHERE messaging_paused_at IS NOT NULL",
                    &[],
                )
                .await
                .map_err(Infra::from)?;
            Ok::<i64, Infra>(row.get(0))
        };
        match counted.await {
            Ok(paused) => {
                gauge.set(paused);
            }
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "cannot count paused organizations")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Connects the rate limiter, retrying every few seconds until Redis answers.
async fn connect_pacer(
    url: Endpoint,
    prefix: String,
    pacer: Arc<tokio::sync::OnceCell<Pacer>>,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            () = shutdown.cancelled() => return,
        }
        if let Ok(connected) = Pacer::connect(&url, &prefix).await {
            let _ = pacer.set(connected);
            tracing::info!("Redis answers; sends are paced again");
            return;
        }
    }
}
