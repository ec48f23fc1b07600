//! The conversation service's Prometheus metrics.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabels {
    pub tool: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub kind: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    /// Webhook items by outcome: `message`, `duplicate`, `echo`, `status`, …
    pub items: Family<OutcomeLabels, Counter>,
    /// Turns by outcome: `answered`, `handed_off`, `retry_later`, …
    pub turns: Family<OutcomeLabels, Counter>,
    /// Calls to the model by outcome: `ok`, `retryable`, `bad_request`, …
    pub model_calls: Family<OutcomeLabels, Counter>,
    /// Tool calls by tool and outcome: `ok`, `error`, `refused`.
    pub tools: Family<ToolLabels, Counter>,
    /// Tokens by kind: `input`, `output`, `cache_read`, `cache_write`.
    pub tokens: Family<TokenLabels, Counter>,
    /// Seconds from claiming a turn to publishing its reply.
    pub turn_seconds: Histogram,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Metrics {
            items: Family::default(),
            turns: Family::default(),
            model_calls: Family::default(),
            tools: Family::default(),
            tokens: Family::default(),
            turn_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
        };
        registry.register(
            "conversation_webhook_items",
            "Webhook items taken from conversation.inbound, by outcome",
            metrics.items.clone(),
        );
        registry.register(
            "conversation_turns",
            "Turns run, by outcome",
            metrics.turns.clone(),
        );
        registry.register(
            "conversation_model_calls",
            "Calls to the Messages API, by outcome",
            metrics.model_calls.clone(),
        );
        registry.register(
            "conversation_tool_calls",
            "Tool calls of the model, by tool and outcome",
            metrics.tools.clone(),
        );
        registry.register(
            "conversation_model_tokens",
            "Tokens billed by the Messages API, by kind",
            metrics.tokens.clone(),
        );
        registry.register(
            "conversation_turn_seconds",
            "Time from claiming a turn to publishing its reply",
            metrics.turn_seconds.clone(),
        );
        metrics
    }

    pub fn item(&self, outcome: &'static str) {
        self.items.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn turn(&self, outcome: &'static str) {
        self.turns.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn model_call(&self, outcome: &'static str) {
        self.model_calls
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn tool(&self, tool: &str, outcome: &'static str) {
        self.tools
            .get_or_create(&ToolLabels {
                tool: tool.to_owned(),
                outcome,
            })
            .inc();
    }

    pub fn tokens(&self, kind: &'static str, count: u64) {
        self.tokens
            .get_or_create(&TokenLabels { kind })
            .inc_by(count);
    }
}
