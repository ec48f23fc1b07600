//! Runs the whole service: the RPC consumer, the outbox relay and the admin server.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    admin::{self, Health, HealthFlag},
    amqp::{Publisher, PublisherOptions, Topology, connection, topology::CITA_EVENTS},
    config::Settings,
    db::{self, DbError},
};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    cache::Cache,
    metrics::Metrics,
    ops::{Clock, Scheduler},
    relay, rpc,
};

/// Runs until `shutdown`: consumes `scheduling.rpc`, relays the outbox, serves the admin
/// port. On shutdown the consumer is cancelled and requests in hand are finished.
pub async fn serve(
    settings: &Settings,
    admin_listener: TcpListener,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), DbError> {
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
            channels: 1,
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

    let relay = tokio::spawn(relay::run(
        pool.clone(),
        publisher.clone(),
        topology.name(CITA_EVENTS),
        metrics.events_relayed.clone(),
        shutdown.clone(),
    ));
    let mut scheduler = Scheduler::new(pool, clock);
    match Cache::connect(settings.redis_url.expose(), &settings.amqp_prefix).await {
        Ok(cache) => scheduler = scheduler.with_cache(cache),
        Err(error) => {
            tracing::warn!(%error, "Redis unavailable at start; availability is not cached")
        }
    }
    let server = Arc::new(rpc::Server {
        scheduler: Arc::new(scheduler),
        dead_letters: publisher.clone(),
        topology,
        prefetch: settings.prefetch,
        metrics,
    });
    consume(
        settings,
        &server,
        &publisher_ready,
        health.register("rpc"),
        &shutdown,
    )
    .await;

    let _ = relay.await;
    publisher.close();
    let _ = publisher_task.await;
    admin_stop.cancel();
    let _ = admin.await;
    tracing::info!("scheduling stopped");
    Ok(())
}

/// Keeps a consuming connection until `shutdown`, reconnecting with backoff.
///
/// Consuming starts once the publisher is connected: a malformed request is copied to its
/// dead queue through it, and without it would be dead-lettered without its reason.
async fn consume(
    settings: &Settings,
    server: &Arc<rpc::Server>,
    publisher_ready: &HealthFlag,
    ready: HealthFlag,
    shutdown: &CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    let name = format!("{}-rpc", settings.component.name());
    while !publisher_ready.get() {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
            () = shutdown.cancelled() => return,
        }
    }
    while !shutdown.is_cancelled() {
        let connected = tokio::select! {
            connected = connection::connect(&settings.amqp_url, &name, &server.topology) => connected,
            () = shutdown.cancelled() => break,
        };
        match connected {
            Ok(connection) => {
                backoff = Duration::from_millis(100);
                ready.set(true);
                tracing::info!(prefetch = server.prefetch, "consuming scheduling requests");
                let served = server.serve(&connection, shutdown).await;
                ready.set(false);
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    connection.close(200, "bye".into()),
                )
                .await;
                match served {
                    Ok(()) => continue,
                    Err(error) => {
                        tracing::warn!(%error, "scheduling consumer failed; reconnecting")
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "cannot connect to the broker")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.cancelled() => break,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
