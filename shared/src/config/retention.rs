//! How long bookkeeping rows are kept before `cita-reminders` prunes them (messages and
//! AI usage follow each organization's `retention_days` instead).

use std::time::Duration;

use super::{ConfigError, Raw, invalid};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Outbox rows already published to `cita.events`.
    pub outbox: Duration,
    /// What deduplicates redeliveries and retries: handled event ids and the remembered
    /// results of idempotent commands. Longer than any replay of a dead letter.
    pub dedupe: Duration,
    /// Webhook payloads not acted on (kept for replay) and statuses that arrived before
    /// their message.
    pub rejected: Duration,
    /// Notifications sent, skipped or cancelled.
    pub notifications: Duration,
}

pub(super) fn validate(raw: &Raw) -> Result<RetentionSettings, ConfigError> {
    let hours = |var: &'static str, value: Option<u64>, default: u64| match value {
        Some(0) => Err(invalid(var, "must be at least 1")),
        value => Ok(Duration::from_secs(3600 * value.unwrap_or(default))),
    };
    Ok(RetentionSettings {
        outbox: hours(
            "CITA_OUTBOX_RETENTION_HOURS",
            raw.outbox_retention_hours,
            168,
        )?,
        dedupe: hours(
            "CITA_DEDUPE_RETENTION_HOURS",
            raw.dedupe_retention_hours,
            720,
        )?,
        rejected: hours(
            "CITA_REJECTED_RETENTION_HOURS",
            raw.rejected_retention_hours,
            168,
        )?,
        notifications: hours(
            "CITA_NOTIFICATION_RETENTION_HOURS",
            raw.notification_retention_hours,
            720,
        )?,
    })
}
