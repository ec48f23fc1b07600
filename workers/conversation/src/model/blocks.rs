//! The typed side of the Messages API's untyped JSON: what the tool loop reads from a
//! response. The raw content array is what gets echoed back (verbatim, as the API
//! requires); these types are only for reading it.

use cita_shared::config::ModelPrices;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// Thinking, redacted thinking, and types added later: echoed, never read.
    Other,
}

impl Block {
    pub fn parse(block: &Value) -> Self {
        match block["type"].as_str() {
            Some("text") => Block::Text(block["text"].as_str().unwrap_or_default().to_owned()),
            Some("tool_use") => Block::ToolUse {
                id: block["id"].as_str().unwrap_or_default().to_owned(),
                name: block["name"].as_str().unwrap_or_default().to_owned(),
                input: block["input"].clone(),
            },
            _ => Block::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    PauseTurn,
    Refusal,
    ContextWindowExceeded,
    Unknown(String),
}

impl StopReason {
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("end_turn") => StopReason::EndTurn,
            Some("tool_use") => StopReason::ToolUse,
            Some("max_tokens") => StopReason::MaxTokens,
            Some("stop_sequence") => StopReason::StopSequence,
            Some("pause_turn") => StopReason::PauseTurn,
            Some("refusal") => StopReason::Refusal,
            Some("model_context_window_exceeded") => StopReason::ContextWindowExceeded,
            other => StopReason::Unknown(other.unwrap_or_default().to_owned()),
        }
    }
}

/// Tokens one call was billed for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input after the last cache breakpoint.
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Usage {
    pub fn parse(usage: &Value) -> Self {
        let n = |key: &str| usage[key].as_u64().unwrap_or(0);
        Usage {
            input: n("input_tokens"),
            output: n("output_tokens"),
            cache_read: n("cache_read_input_tokens"),
            cache_write: n("cache_creation_input_tokens"),
        }
    }

    /// The estimated cost in millionths of a dollar: a price per million tokens is a
    /// price in micro-dollars per token.
    pub fn cost_micro_usd(&self, prices: &ModelPrices) -> i64 {
        let cost = self.input as f64 * prices.input
            + self.output as f64 * prices.output
            + self.cache_read as f64 * prices.cache_read
            + self.cache_write as f64 * prices.cache_write;
        cost.round() as i64
    }
}

/// A `tool_result` block for the call `tool_use_id`: compact JSON on success, a short
/// plain-words message with `is_error` on failure.
pub fn tool_result(tool_use_id: &str, result: Result<Value, String>) -> Value {
    match result {
        Ok(value) => json!({
            "type": "tool_result",
            "tool_use_id": tool_use_id,
            "content": value.to_string(),
        }),
        Err(message) => json!({
            "type": "tool_result",
            "tool_use_id": tool_use_id,
            "content": message,
            "is_error": true,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_costs_per_price_table() {
        let usage = Usage::parse(&json!({"input_tokens": 410, "output_tokens": 61,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 3100}));
        assert_eq!(usage.cache_read, 3100);
        // 410 × 2 + 61 × 10 + 3100 × 0.1 = 1740 µ$
        assert_eq!(usage.cost_micro_usd(&ModelPrices::SONNET_5_5), 1740);
    }

    #[test]
    fn blocks_and_stop_reasons_are_read_with_a_fallback() {
        assert_eq!(
            Block::parse(&json!({"type": "tool_use", "id": "t1", "name": "x", "input": {"a": 1}})),
            Block::ToolUse {
                id: "t1".into(),
                name: "x".into(),
                input: json!({"a": 1})
            }
        );
        assert_eq!(
            Block::parse(&json!({"type": "thinking", "thinking": "…"})),
            Block::Other
        );
        assert_eq!(StopReason::parse(Some("refusal")), StopReason::Refusal);
        assert_eq!(
            StopReason::parse(Some("new")),
            StopReason::Unknown("new".into())
        );
        let error = tool_result("t1", Err("slot_taken".into()));
        assert_eq!(error["is_error"], true);
        assert!(
            tool_result("t1", Ok(json!({"ok": true})))
                .get("is_error")
                .is_none()
        );
    }
}
