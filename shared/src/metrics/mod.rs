//! What every binary exports besides its own figures: the build it runs
//! (`cita_build_info`), the process (`process_*`, the names Prometheus's own clients
//! use), the database pool and the broker links.

mod process;

use deadpool_postgres::Pool;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::Histogram,
        info::Info,
    },
    registry::Registry,
};

pub use process::ProcessCollector;

/// The version of the workspace, and the commit it was built from: `CITA_BUILD_COMMIT`
/// at build time (the image's build sets it), `unknown` otherwise. Not read from git, so
/// that a commit does not rebuild every crate.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = match option_env!("CITA_BUILD_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabels {
    pub connection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub queue: String,
}

/// The broker links of one process: reconnects per connection, and for each queue it
/// consumes (and its dead queue) the depth, the consumers attached, and how long
/// messages waited before delivery.
#[derive(Clone)]
pub struct AmqpMetrics {
    pub reconnects: Family<ConnectionLabels, Counter>,
    pub queue_messages: Family<QueueLabels, Gauge>,
    pub queue_consumers: Family<QueueLabels, Gauge>,
    pub delivery_lag: Family<QueueLabels, Histogram>,
}

impl Default for AmqpMetrics {
    fn default() -> Self {
        AmqpMetrics {
            reconnects: Family::default(),
            queue_messages: Family::default(),
            queue_consumers: Family::default(),
            // Seconds, from "at once" to "half an hour behind": the alert threshold for
            // a ready queue's age sits in the middle.
            delivery_lag: Family::new_with_constructor(|| {
                Histogram::new([0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0])
            }),
        }
    }
}

impl AmqpMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = AmqpMetrics::default();
        registry.register(
            "amqp_reconnects",
            "Broker connections replaced after a failure, per connection",
            metrics.reconnects.clone(),
        );
        registry.register(
            "amqp_queue_messages",
            "Ready messages in a queue this process consumes (or its dead queue)",
            metrics.queue_messages.clone(),
        );
        registry.register(
            "amqp_queue_consumers",
            "Consumers attached to a queue this process consumes (or its dead queue)",
            metrics.queue_consumers.clone(),
        );
        registry.register(
            "amqp_delivery_lag_seconds",
            "Time from a message's publication to its first delivery",
            metrics.delivery_lag.clone(),
        );
        metrics
    }

    pub fn reconnects(&self, connection: &str) -> Counter {
        self.reconnects
            .get_or_create(&ConnectionLabels {
                connection: connection.to_owned(),
            })
            .clone()
    }
}

/// A binary's registry: the process's metrics at its root (`process_*`), and
/// `cita_build_info`. Everything else goes under `cita_` (`sub_registry_with_prefix`).
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ProcessCollector));
    register_build_info(registry.sub_registry_with_prefix("cita"));
    registry
}

fn register_build_info(registry: &mut Registry) {
    registry.register(
        "build",
        "The version and commit of this binary",
        Info::new(BuildLabels {
            version: VERSION,
            commit: COMMIT,
        }),
    );
}

/// The pool's connections, read at each scrape.
#[derive(Debug)]
pub struct PoolCollector(pub Pool);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let status = self.0.status();
        let connections = Family::<StateLabels, Gauge>::default();
        let idle = status.available.min(status.size);
        connections
            .get_or_create(&StateLabels { state: "idle" })
            .set(idle as i64);
        connections
            .get_or_create(&StateLabels { state: "in_use" })
            .set((status.size - idle) as i64);
        let metric = encoder.encode_descriptor(
            "db_pool_connections",
            "PostgreSQL connections of the pool, by state",
            None,
            connections.metric_type(),
        )?;
        connections.encode(metric)?;
        let max = ConstGauge::new(status.max_size as i64);
        let metric = encoder.encode_descriptor(
            "db_pool_max_connections",
            "The most connections the pool opens (CITA_DATABASE_POOL_SIZE)",
            None,
            max.metric_type(),
        )?;
        max.encode(metric)?;
        let waiting = ConstGauge::new(status.waiting as i64);
        let metric = encoder.encode_descriptor(
            "db_pool_waiting",
            "Tasks waiting for a pooled connection",
            None,
            waiting.metric_type(),
        )?;
        waiting.encode(metric)
    }
}
