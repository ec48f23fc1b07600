//! Settings of `cita-outbound`: the Graph API and the sending limits.

use std::time::Duration;

use super::{ConfigError, Raw, invalid};

/// How `cita-outbound` talks to Meta's Graph API.
#[derive(Clone, Debug)]
pub struct OutboundSettings {
    /// `https://graph.facebook.com` in production; a local fake in tests and the demo.
    pub graph_api_base: String,
    /// Pinned, never the app's default: `v23.0`.
    pub graph_api_version: String,
    pub graph_timeout: Duration,
    /// Messages per second per business phone number, unless the organization sets its own.
    pub number_rate: u32,
    /// Messages a number may send at once before the pace applies.
    pub number_burst: u32,
    /// The pace of messages to one recipient (Meta's pair rate: about one per 6 s).
    pub pair_interval: Duration,
    /// Messages to one recipient at once before the pace applies.
    pub pair_burst: u32,
    /// Calls to Meta per message before a retryable failure becomes final.
    pub max_attempts: u32,
}

pub(super) fn validate(raw: &Raw) -> Result<OutboundSettings, ConfigError> {
    let base = raw.graph_api_base.trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(invalid(
            "CITA_GRAPH_API_BASE",
            "must start with https:// (or http:// for a local fake)",
        ));
    }
    let version = &raw.graph_api_version;
    let well_formed = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        });
    if !well_formed {
        return Err(invalid(
            "CITA_GRAPH_API_VERSION",
            format!("expected a version like v23.0, got {version:?}"),
        ));
    }
    for (var, value) in [
        ("CITA_GRAPH_TIMEOUT_MS", raw.graph_timeout_ms),
        ("CITA_OUTBOUND_NUMBER_RATE", raw.outbound_number_rate.into()),
        (
            "CITA_OUTBOUND_NUMBER_BURST",
            raw.outbound_number_burst.into(),
        ),
        (
            "CITA_OUTBOUND_PAIR_INTERVAL_MS",
            raw.outbound_pair_interval_ms,
        ),
        ("CITA_OUTBOUND_PAIR_BURST", raw.outbound_pair_burst.into()),
        (
            "CITA_OUTBOUND_MAX_ATTEMPTS",
            raw.outbound_max_attempts.into(),
        ),
    ] {
        if value == 0 {
            return Err(invalid(var, "must be at least 1"));
        }
    }
    Ok(OutboundSettings {
        graph_api_base: base.to_string(),
        graph_api_version: version.clone(),
        graph_timeout: Duration::from_millis(raw.graph_timeout_ms),
        number_rate: raw.outbound_number_rate,
        number_burst: raw.outbound_number_burst,
        pair_interval: Duration::from_millis(raw.outbound_pair_interval_ms),
        pair_burst: raw.outbound_pair_burst,
        max_attempts: raw.outbound_max_attempts,
    })
}
