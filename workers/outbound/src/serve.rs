//! Runs the whole service: the `outbound.send` consumer, the outbox relay (for
//! `message.failed` and `organization.token_invalid`) and the admin server.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    admin::{self, Health},
    amqp::{
        Publisher, PublisherOptions, Topology,
        consumer::{self, ConsumerOptions},
        topology::{CITA_EVENTS, OUTBOUND_SEND},
    },
    config::{ConfigError, Settings},
    db::{self, DbError},
    outbox,
};
use prometheus_client::registry::Registry;
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
    #[error("building the Graph API client: {0}")]
    Graph(#[from] GraphError),
}

/// Runs until `shutdown`; then the consumer is cancelled and the sends in hand finish.
pub async fn serve(
    settings: &Settings,
    admin_listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let keyring = settings.require_keyring()?;
    let graph = GraphClient::new(&settings.outbound)?;
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
        metrics.events_relayed.clone(),
        shutdown.clone(),
    ));
    // Connected before consuming when Redis answers, so the first sends are paced too;
    // otherwise retried in the background.
    let pacer = Arc::new(tokio::sync::OnceCell::new());
    let redis_url = settings.redis_url.expose().to_string();
    let pacing = match Pacer::connect(&redis_url, &settings.amqp_prefix).await {
        Ok(connected) => {
            let _ = pacer.set(connected);
            None
        }
        Err(error) => {
            tracing::warn!(%error, "Redis unavailable; sends are not paced by Cita until it answers");
            Some(tokio::spawn(connect_pacer(
                redis_url,
                settings.amqp_prefix.clone(),
                pacer.clone(),
                shutdown.clone(),
            )))
        }
    };
    let limits = &settings.outbound;
    let outbound = Arc::new(Outbound {
        pool,
        graph,
        keyring,
        pacer,
        publisher: publisher.clone(),
        topology: topology.clone(),
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
    });
    let options = ConsumerOptions {
        url: settings.amqp_url.clone(),
        topology,
        queue: OUTBOUND_SEND,
        prefetch: settings.prefetch,
        connection_name: format!("{}-consumer", settings.component.name()),
    };
    consumer::run(
        &options,
        outbound,
        &publisher_ready,
        health.register("consumer"),
        &shutdown,
    )
    .await;

    let _ = relay.await;
    if let Some(pacing) = pacing {
        pacing.abort();
    }
    publisher.close();
    let _ = publisher_task.await;
    admin_stop.cancel();
    let _ = admin.await;
    tracing::info!("outbound stopped");
    Ok(())
}

/// Connects the rate limiter, retrying every few seconds until Redis answers.
async fn connect_pacer(
    url: String,
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
