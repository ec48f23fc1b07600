//! The defaults of the settings that have one in code.

use super::{LogFormat, Secret};

pub fn database_url() -> Secret {
    Secret::new("postgres://postgres@127.0.0.1:5432/cita")
}
pub fn database_pool_size() -> usize {
    16
}
pub fn amqp_url() -> Secret {
    // 30 s heartbeats notice a dead broker link in about a minute; the server's 60 s
    // default would take two.
    Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=30")
}
pub fn redis_url() -> Secret {
    Secret::new("redis://127.0.0.1:6379/0")
}
pub fn max_body_bytes() -> usize {
    // Meta sends payloads of up to about 3 MB.
    4 * 1024 * 1024
}
pub fn publish_timeout_ms() -> u64 {
    5_000
}
pub fn shutdown_timeout_ms() -> u64 {
    20_000
}
pub fn log_format() -> LogFormat {
    LogFormat::Text
}
pub fn graph_api_base() -> String {
    "https://graph.facebook.com".into()
}
pub fn graph_api_version() -> String {
    "v23.0".into()
}
pub fn graph_timeout_ms() -> u64 {
    10_000
}
pub fn outbound_number_rate() -> u32 {
    // Meta's default throughput per number.
    80
}
pub fn outbound_number_burst() -> u32 {
    8
}
pub fn outbound_pair_interval_ms() -> u64 {
    6_000
}
pub fn outbound_pair_burst() -> u32 {
    // Meta tolerates bursts of up to 45 to one user; an assistant's turn is a few
    // bubbles, so 10 never slows a conversation and stays far from the limit.
    10
}
pub fn outbound_max_attempts() -> u32 {
    // 1 + 4 + 16 + 64 + 256 × 3 s ≈ 14 minutes of retrying.
    8
}
