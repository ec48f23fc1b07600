//! The scheduling service's Prometheus metrics.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The request's `type`, or `malformed`.
    pub request: &'static str,
    /// `ok`, or the error's `code`.
    pub outcome: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Histogram,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Metrics {
            requests: Family::default(),
            // 0.25 ms … 4 s.
            request_seconds: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.000_25, 2.0, 15),
            ),
        };
        registry.register(
            "scheduling_requests",
            "Requests answered, by type and outcome",
            metrics.requests.clone(),
        );
        registry.register(
            "scheduling_request_seconds",
            "Time to handle a request, from delivery to reply",
            metrics.request_seconds.clone(),
        );
        metrics
    }
}
