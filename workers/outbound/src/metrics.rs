//! The outbound service's Prometheus metrics.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `sent`, `duplicate`, `retried`, `deferred`, `paused`, `failed_<reason>`,
    /// `dead_lettered`, `read`, `read_failed`.
    pub outcome: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    pub commands: Family<OutcomeLabels, Counter>,
    pub graph_seconds: Histogram,
    pub paced_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    /// Organizations whose sends wait for a new token (Meta refused theirs).
    pub organizations_paused: Gauge,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Metrics {
            commands: Family::default(),
            // 5 ms … 20 s.
            graph_seconds: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 13),
            ),
            paced_seconds: Counter::default(),
            organizations_paused: Gauge::default(),
        };
        registry.register(
            "outbound_commands",
            "Send commands handled, by outcome",
            metrics.commands.clone(),
        );
        registry.register(
            "outbound_graph_seconds",
            "Duration of calls to Meta's Graph API",
            metrics.graph_seconds.clone(),
        );
        registry.register(
            "outbound_paced_seconds",
            "Time sends waited in place for the rate limits",
            metrics.paced_seconds.clone(),
        );
        registry.register(
            "outbound_organizations_paused",
            "Organizations whose sends are paused because Meta refused their token",
            metrics.organizations_paused.clone(),
        );
        metrics
    }

    pub fn count(&self, outcome: &'static str) {
        self.commands
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }
}
