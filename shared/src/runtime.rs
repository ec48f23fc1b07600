//! One runtime for every worker: the PostgreSQL pool, the confirmed publisher, the admin
//! port with readiness and metrics, the outbox relay, the consumers and background
//! loops, and their stop in order. A binary configures it with its own handlers:
//!
//! ```ignore
//! let mut worker = Worker::new(settings, clock, shutdown, 1)?;
//! let metrics = Metrics::register(worker.registry());
//! worker.relay_outbox("scheduling_events_relayed");
//! worker.consume(Consume::new(SCHEDULING_RPC, "rpc", settings.prefetch), server);
//! worker.run(admin_listener).await;
//! ```
//!
//! Stopping (the shutdown token): consumers cancel and drain their deliveries within
//! `CITA_SHUTDOWN_TIMEOUT_MS`, background loops end, then the publisher closes (nothing
//! publishes any more) and the admin port last.

use std::{future::Future, sync::Arc, time::Duration};

use deadpool_postgres::Pool;
use prometheus_client::{metrics::counter::Counter, registry::Registry};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    admin::{self, Health, HealthFlag},
    amqp::{
        ConsumerOptions, Handler, Links, Publisher, PublisherOptions, Topology, consumer,
        topology::CITA_EVENTS,
    },
    clock::Clock,
    config::Settings,
    db::{self, DbError},
    metrics::{self, AmqpMetrics, PoolCollector},
    outbox,
};

/// How one queue is consumed.
#[derive(Debug, Clone, Copy)]
pub struct Consume {
    pub queue: &'static str,
    /// The name `/readyz` gives the consumer while it is not attached.
    pub readiness: &'static str,
    pub prefetch: u16,
    /// How long a transient failure is retried in place before the message is requeued.
    pub patience: Duration,
}

impl Consume {
    /// A queue whose handlers wait out an outage of the database or broker for up to two
    /// minutes in place (requeueing at once would spin a message through the queue's
    /// delivery limit and dead-letter good work).
    pub fn new(queue: &'static str, readiness: &'static str, prefetch: u16) -> Self {
        Consume {
            queue,
            readiness,
            prefetch,
            patience: Duration::from_secs(120),
        }
    }

    pub fn with_patience(self, patience: Duration) -> Self {
        Consume { patience, ..self }
    }
}

/// A worker being assembled, then run.
pub struct Worker {
    settings: Settings,
    pub pool: Pool,
    pub topology: Topology,
    pub publisher: Arc<Publisher>,
    pub clock: Clock,
    pub shutdown: CancellationToken,
    health: Health,
    publisher_ready: HealthFlag,
    publisher_task: JoinHandle<()>,
    registry: Registry,
    amqp: AmqpMetrics,
    consumers: Vec<JoinHandle<()>>,
    loops: Vec<JoinHandle<()>>,
}

impl Worker {
    /// Builds the pool and starts the publisher (with `publisher_channels` confirm
    /// channels). Nothing is consumed or served until [`Worker::run`].
    pub fn new(
        settings: &Settings,
        clock: Clock,
        shutdown: CancellationToken,
        publisher_channels: usize,
    ) -> Result<Self, DbError> {
        let pool = db::pool(&settings.database_url, settings.database_pool_size)?;
        Ok(Self::with_pool(
            settings,
            pool,
            clock,
            shutdown,
            publisher_channels,
        ))
    }

    /// As [`Worker::new`], on a pool the binary built itself (the API's takes a role).
    pub fn with_pool(
        settings: &Settings,
        pool: Pool,
        clock: Clock,
        shutdown: CancellationToken,
        publisher_channels: usize,
    ) -> Self {
        let topology = Topology::new(&settings.amqp_prefix);
        let mut registry = metrics::registry();
        let cita = registry.sub_registry_with_prefix("cita");
        cita.register_collector(Box::new(PoolCollector(pool.clone())));
        let amqp = AmqpMetrics::register(cita);
        let health = Health::default();
        let publisher_ready = health.register("amqp");
        let (publisher, publisher_task) = Publisher::start(
            settings.amqp_url.clone(),
            topology.clone(),
            PublisherOptions {
                connection_name: format!("{}-publisher", settings.component.name()),
                confirm_timeout: settings.publish_timeout,
                channels: publisher_channels,
                reconnects: amqp.reconnects("publisher"),
            },
            publisher_ready.clone(),
        );
        Worker {
            settings: settings.clone(),
            pool,
            topology,
            publisher,
            clock,
            shutdown,
            health,
            publisher_ready,
            publisher_task,
            registry,
            amqp,
            consumers: Vec::new(),
            loops: Vec::new(),
        }
    }

    /// Where the worker registers its own metrics (prefixed `cita_`).
    pub fn registry(&mut self) -> &mut Registry {
        self.registry.sub_registry_with_prefix("cita")
    }

    /// Relays this worker's outbox to `cita.events`, counting the events as `metric`.
    pub fn relay_outbox(&mut self, metric: &str) {
        let relayed = Counter::default();
        self.registry().register(
            metric,
            "Events published from the outbox to cita.events",
            relayed.clone(),
        );
        self.spawn(outbox::run(
            self.pool.clone(),
            self.publisher.clone(),
            self.topology.name(CITA_EVENTS),
            relayed,
            self.shutdown.clone(),
        ));
    }

    /// Runs a background loop; it must return once [`Worker::shutdown`] is cancelled.
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.loops.push(tokio::spawn(task));
    }

    /// Consumes `consume.queue` with `handler` once the publisher is connected.
    pub fn consume<H: Handler>(&mut self, consume: Consume, handler: Arc<H>) {
        let options = ConsumerOptions {
            url: self.settings.amqp_url.clone(),
            topology: self.topology.clone(),
            queue: consume.queue,
            prefetch: consume.prefetch,
            connection_name: format!("{}-{}", self.settings.component.name(), consume.queue),
            patience: consume.patience,
            drain_timeout: self.settings.shutdown_timeout,
        };
        let links = Links {
            publisher: self.publisher.clone(),
            metrics: self.amqp.clone(),
        };
        let wait_for = self.publisher_ready.clone();
        let ready = self.health.register(consume.readiness);
        let shutdown = self.shutdown.clone();
        self.consumers.push(tokio::spawn(async move {
            consumer::run(&options, handler, &links, &wait_for, ready, &shutdown).await;
        }));
    }

    /// Serves the admin port and runs until shutdown, then stops everything in order.
    pub async fn run(self, admin_listener: TcpListener) {
        let admin_stop = CancellationToken::new();
        let admin = tokio::spawn(admin::serve(
            admin_listener,
            self.health.clone(),
            Arc::new(self.registry),
            admin_stop.clone(),
        ));
        if self.consumers.is_empty() {
            self.shutdown.cancelled().await;
        }
        for task in self.consumers.into_iter().chain(self.loops) {
            let _ = task.await;
        }
        self.publisher.close();
        let _ = self.publisher_task.await;
        admin_stop.cancel();
        let _ = admin.await;
        tracing::info!("{} stopped", self.settings.component.name());
    }
}
