//! Runs the whole service: the RPC consumer, the outbox relay and the admin server.

use std::sync::Arc;

use cita_shared::{
    amqp::topology::SCHEDULING_RPC,
    config::Settings,
    db::DbError,
    runtime::{Consume, Worker},
};
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
    let mut worker = Worker::new(settings, clock.clone(), shutdown, 1)?;
    let metrics = Metrics::register(worker.registry());
    worker.relay_outbox("scheduling_events_relayed");
    let mut scheduler = Scheduler::new(worker.pool.clone(), clock);
    match Cache::connect(&settings.redis_url, &settings.amqp_prefix).await {
        Ok(cache) => scheduler = scheduler.with_cache(cache),
        Err(error) => {
            tracing::warn!(%error, "Redis unavailable at start; availability is not cached")
        }
    }
    let server = Arc::new(rpc::Server {
        scheduler: Arc::new(scheduler),
        metrics,
    });
    worker.consume(
        Consume::new(SCHEDULING_RPC, "rpc", settings.prefetch),
        server,
    );
    worker.run(admin_listener).await;
    Ok(())
}
