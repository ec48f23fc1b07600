//! The ingress's Prometheus metrics.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    pub requests: Family<OutcomeLabels, Counter>,
    pub confirm_seconds: Histogram,
    pub in_flight: Gauge,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Metrics {
            requests: Family::default(),
            // 0.25 ms … 4 s: a healthy confirm takes a few ms, the timeout is 5 s.
            confirm_seconds: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.000_25, 2.0, 15),
            ),
            in_flight: Gauge::default(),
        };
        registry.register(
            "ingress_requests",
            "Webhook requests answered, by outcome",
            metrics.requests.clone(),
        );
        registry.register(
            "ingress_publish_confirm_seconds",
            "Time from publishing a webhook body to the broker's confirm (or failure)",
            metrics.confirm_seconds.clone(),
        );
        registry.register(
            "ingress_in_flight_requests",
            "Requests being handled right now",
            metrics.in_flight.clone(),
        );
        metrics
    }
}
