//! Reading fields of Meta's webhook JSON: present, non-empty, of the right type.

use jiff::Timestamp;
use serde_json::Value;

pub(super) fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub(super) fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

pub(super) fn required(value: &Value, key: &str) -> Result<String, String> {
    text(value, key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("missing \"{key}\""))
}

pub(super) fn number(value: &Value, key: &str) -> Result<f64, String> {
    value
        .get(key)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("missing number \"{key}\""))
}

/// Meta's timestamps are Unix seconds as a string.
pub(super) fn timestamp(value: &Value) -> Result<Timestamp, String> {
    let seconds = match value.get("timestamp") {
        Some(Value::String(s)) => s.parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    }
    .ok_or("missing or bad \"timestamp\"")?;
    Timestamp::from_second(seconds).map_err(|e| format!("bad timestamp: {e}"))
}
