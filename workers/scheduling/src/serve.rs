//! Runs the whole service: the RPC consumer, the outbox relay and the admin server.

use std::sync::Arc;

use cita_shared::{
    amqp::topology::{PAYMENTS_NOTIFICATIONS, SCHEDULING_DEPOSITS, SCHEDULING_RPC},
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
    payments::{Notifications, links::Links, mercadopago::MercadoPago},
    rpc,
};

/// How long one call to Mercado Pago may take.
const MERCADOPAGO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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
    let scheduler = server.scheduler.clone();
    worker.consume(
        Consume::new(SCHEDULING_RPC, "rpc", settings.prefetch),
        server,
    );
    let provider = MercadoPago::new(&settings.payments.mercadopago_api_base, MERCADOPAGO_TIMEOUT);
    match (settings.require_keyring(), provider) {
        (Ok(keyring), Ok(provider)) => {
            let links = Arc::new(Links {
                pool: worker.pool.clone(),
                keyring: keyring.clone(),
                provider: provider.clone(),
                notification_url: settings.payments.mercadopago_notification_url.clone(),
            });
            worker.consume(
                Consume::new(SCHEDULING_DEPOSITS, "deposit_links", settings.prefetch),
                links,
            );
            let notifications = Arc::new(Notifications {
                scheduler,
                pool: worker.pool.clone(),
                keyring,
                provider,
            });
            worker.consume(
                Consume::new(PAYMENTS_NOTIFICATIONS, "payments", settings.prefetch),
                notifications,
            );
        }
        (Err(error), _) => tracing::warn!(
            %error,
            "payment notifications are not consumed: the Mercado Pago tokens can't be opened"
        ),
        (_, Err(error)) => tracing::error!(%error, "payment notifications are not consumed"),
    }
    worker.run(admin_listener).await;
    Ok(())
}
