//! Runs the whole service: the RPC consumer, the outbox relay and the admin server.

use std::sync::Arc;

use cita_shared::{
    admin::{self, Health},
    amqp::{
        Publisher, PublisherOptions, Topology,
        consumer::{self, ConsumerOptions},
        topology::{CITA_EVENTS, SCHEDULING_RPC},
    },
    config::Settings,
    db::{self, DbError},
    outbox,
};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    cache::Cache,
    metrics::Metrics,
    ops::{Clock, Scheduler},
    rpc,
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

    let relay = tokio::spawn(outbox::run(
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
        metrics,
    });
    let options = ConsumerOptions {
        url: settings.amqp_url.clone(),
        topology: server.topology.clone(),
        queue: SCHEDULING_RPC,
        prefetch: settings.prefetch,
        connection_name: format!("{}-rpc", settings.component.name()),
    };
    consumer::run(
        &options,
        server,
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
