//! Runs the whole service: the event consumer, the dispatcher, the planner, hold expiry
//! with its outbox relay, the pruning of what is past its retention, and the admin server.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    amqp::topology::{CITA_COMMANDS, REMINDERS_EVENTS},
    config::Settings,
    db::DbError,
    retention,
    runtime::{Consume, Worker},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{Clock, dispatch, holds, intake::Intake, metrics::Metrics, planner};

/// How often agendas are planned and conversations kept.
const PLAN_EVERY: Duration = Duration::from_secs(60);
/// How often expired holds are looked for: a freed slot is bookable within this.
const EXPIRE_EVERY: Duration = Duration::from_secs(1);
/// How often rows past their retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub async fn serve(
    settings: &Settings,
    admin_listener: TcpListener,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), DbError> {
    let mut worker = Worker::new(settings, clock.clone(), shutdown.clone(), 2)?;
    let metrics = Metrics::register(worker.registry());
    worker.spawn(dispatch::run(
        worker.pool.clone(),
        worker.publisher.clone(),
        worker.topology.name(CITA_COMMANDS),
        clock.clone(),
        metrics.clone(),
        shutdown.clone(),
    ));
    worker.spawn(planner::run(
        worker.pool.clone(),
        clock.clone(),
        PLAN_EVERY,
        shutdown.clone(),
    ));
    worker.spawn(holds::run(
        worker.pool.clone(),
        clock.clone(),
        EXPIRE_EVERY,
        shutdown.clone(),
    ));
    // Expired holds are this service's own events.
    worker.relay_outbox("reminders_events_relayed");
    worker.spawn(retention::run(
        worker.pool.clone(),
        settings.retention.clone(),
        clock,
        PRUNE_EVERY,
        shutdown,
    ));
    let intake = Arc::new(Intake {
        pool: worker.pool.clone(),
        metrics,
    });
    worker.consume(
        Consume::new(REMINDERS_EVENTS, "consumer", settings.prefetch),
        intake,
    );
    worker.run(admin_listener).await;
    Ok(())
}
