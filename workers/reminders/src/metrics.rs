//! The reminders service's Prometheus metrics.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    /// Events by outcome: `applied`, `duplicate`, `unknown`, `malformed`.
    pub events: Family<OutcomeLabels, Counter>,
    /// Notifications by outcome: `published`, `skipped`.
    pub notifications: Family<OutcomeLabels, Counter>,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Metrics {
            events: Family::default(),
            notifications: Family::default(),
        };
        registry.register(
            "reminders_events",
            "Events from cita.events handled, by outcome",
            metrics.events.clone(),
        );
        registry.register(
            "reminders_notifications",
            "Due notifications published to outbound.send or skipped",
            metrics.notifications.clone(),
        );
        metrics
    }

    pub fn event(&self, outcome: &'static str) {
        self.events.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// One dispatch batch: notifications published and skipped.
    pub fn dispatched(&self, published: usize, skipped: usize) {
        self.notifications
            .get_or_create(&OutcomeLabels {
                outcome: "published",
            })
            .inc_by(published as u64);
        self.notifications
            .get_or_create(&OutcomeLabels { outcome: "skipped" })
            .inc_by(skipped as u64);
    }
}
