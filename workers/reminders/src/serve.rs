//! Runs the whole service: the event consumer, the dispatcher, the planner and the admin
//! server.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    admin::{self, Health},
    amqp::{
        Publisher, PublisherOptions, Topology,
        consumer::{self, ConsumerOptions},
        topology::{CITA_COMMANDS, REMINDERS_EVENTS},
    },
    config::Settings,
    db::{self, DbError},
};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{Clock, dispatch, intake::Intake, metrics::Metrics, planner};

/// How often agendas are planned and conversations kept.
const PLAN_EVERY: Duration = Duration::from_secs(60);

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
    let dispatcher = tokio::spawn(dispatch::run(
        pool.clone(),
        publisher.clone(),
        topology.name(CITA_COMMANDS),
        clock.clone(),
        metrics.clone(),
        shutdown.clone(),
    ));
    let planner = tokio::spawn(planner::run(
        pool.clone(),
        clock,
        PLAN_EVERY,
        shutdown.clone(),
    ));
    let intake = Arc::new(Intake {
        pool,
        publisher: publisher.clone(),
        topology: topology.clone(),
        metrics,
    });
    let options = ConsumerOptions {
        url: settings.amqp_url.clone(),
        topology,
        queue: REMINDERS_EVENTS,
        prefetch: settings.prefetch,
        connection_name: format!("{}-consumer", settings.component.name()),
    };
    consumer::run(
        &options,
        intake,
        &publisher_ready,
        health.register("consumer"),
        &shutdown,
    )
    .await;

    let _ = dispatcher.await;
    let _ = planner.await;
    publisher.close();
    let _ = publisher_task.await;
    admin_stop.cancel();
    let _ = admin.await;
    tracing::info!("reminders stopped");
    Ok(())
}
