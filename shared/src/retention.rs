//! Pruning what the fleet no longer needs: bookkeeping after the ages of
//! [`RetentionSettings`], and messages and AI usage after each organization's own
//! `retention_days`. Rows go in small batches, each its own short statement, so pruning
//! never holds long locks or one huge transaction; a table that is behind is caught up
//! over several runs.

use std::time::Duration;

use deadpool_postgres::Pool;
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::{
    clock::Clock,
    config::RetentionSettings,
    db::Cached,
    error::{Chain, Infra},
};

/// Rows per statement: small enough that each delete is over in milliseconds.
const BATCH: i64 = 1000;
/// Batches per table and run, so one table far behind does not starve the others.
const MAX_BATCHES: usize = 50;

/// What one run removed, per table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub outbox: u64,
    pub handled_events: u64,
    pub command_results: u64,
    pub rejected_webhooks: u64,
    pub early_statuses: u64,
    pub notifications: u64,
    pub messages: u64,
    pub ai_usage: u64,
    pub audit_log: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.outbox
            + self.handled_events
            + self.command_results
            + self.rejected_webhooks
            + self.early_statuses
            + self.notifications
            + self.messages
            + self.ai_usage
            + self.audit_log
    }
}

// Each deletes at most `$2` rows older than `$1`, found by an index scan.
const OUTBOX: &str = "DELETE FROM outbox WHERE seq IN (
              SELECT seq FROM outbox WHERE published_at < $1 ORDER BY published_at LIMIT $2)";
const HANDLED_EVENTS: &str = "DELETE FROM handled_events WHERE event_id IN (
              SELECT event_id FROM handled_events WHERE handled_at < $1 ORDER BY handled_at LIMIT $2)";
const COMMAND_RESULTS: &str =
    "DELETE FROM command_results WHERE (organization_id, idempotency_key) IN (
              SELECT organization_id, idempotency_key FROM command_results
              WHERE created_at < $1 ORDER BY created_at LIMIT $2)";
const REJECTED_WEBHOOKS: &str = "DELETE FROM rejected_webhooks WHERE ctid IN (
              SELECT ctid FROM rejected_webhooks WHERE received_at < $1 ORDER BY received_at LIMIT $2)";
const EARLY_STATUSES: &str = "DELETE FROM early_statuses WHERE ctid IN (
              SELECT ctid FROM early_statuses WHERE received_at < $1 ORDER BY received_at LIMIT $2)";
const NOTIFICATIONS: &str = "DELETE FROM notifications WHERE id IN (
              SELECT id FROM notifications
              WHERE status <> 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2)";

/// Messages and AI usage older than their organization's retention. A send still
/// waiting (pending or parked) is never pruned, however old.
const MESSAGES: &str = "DELETE FROM messages WHERE id IN (
     SELECT m.id FROM organizations o
     CROSS JOIN LATERAL (
         SELECT id FROM messages
         WHERE organization_id = o.id AND status NOT IN ('pending', 'paused')
           AND created_at < $1::timestamptz - make_interval(days => o.retention_days)
         ORDER BY created_at LIMIT $2) m
     LIMIT $2)";
const AI_USAGE: &str = "DELETE FROM ai_usage WHERE ctid IN (
     SELECT u.ctid FROM organizations o
     CROSS JOIN LATERAL (
         SELECT ctid FROM ai_usage
         WHERE organization_id = o.id
           AND created_at < $1::timestamptz - make_interval(days => o.retention_days)
         ORDER BY created_at LIMIT $2) u
     LIMIT $2)";

/// The audit log holds customers' data (before and after each change): it is kept as
/// long as the organization keeps its messages.
const AUDIT_LOG: &str = "DELETE FROM audit_log WHERE id IN (
     SELECT l.id FROM organizations o
     CROSS JOIN LATERAL (
         SELECT id FROM audit_log
         WHERE organization_id = o.id
           AND at < $1::timestamptz - make_interval(days => o.retention_days)
         ORDER BY id LIMIT $2) l
     LIMIT $2)";

/// Prunes everything due at `now`.
pub async fn prune(
    pool: &Pool,
    settings: &RetentionSettings,
    now: Timestamp,
) -> Result<Pruned, Infra> {
    let before = |age: Duration| now - jiff::SignedDuration::try_from(age).unwrap_or_default();
    Ok(Pruned {
        outbox: batches(pool, OUTBOX, before(settings.outbox)).await?,
        handled_events: batches(pool, HANDLED_EVENTS, before(settings.dedupe)).await?,
        command_results: batches(pool, COMMAND_RESULTS, before(settings.dedupe)).await?,
        rejected_webhooks: batches(pool, REJECTED_WEBHOOKS, before(settings.rejected)).await?,
        early_statuses: batches(pool, EARLY_STATUSES, before(settings.rejected)).await?,
        notifications: batches(pool, NOTIFICATIONS, before(settings.notifications)).await?,
        messages: batches(pool, MESSAGES, now).await?,
        ai_usage: batches(pool, AI_USAGE, now).await?,
        audit_log: batches(pool, AUDIT_LOG, now).await?,
    })
}

/// Runs `sql` until it deletes less than a batch (or the batches of one run are spent).
async fn batches(pool: &Pool, sql: &str, before: Timestamp) -> Result<u64, Infra> {
    let client = pool.get().await?;
    let mut deleted = 0;
    for _ in 0..MAX_BATCHES {
        let n = client.run(sql, &[&before, &BATCH]).await?;
        deleted += n;
        if n < BATCH as u64 {
            break;
        }
    }
    Ok(deleted)
}

/// Prunes every `every` until `shutdown`.
pub async fn run(
    pool: Pool,
    settings: RetentionSettings,
    clock: Clock,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match prune(&pool, &settings, clock.now()).await {
            Ok(pruned) if pruned.total() == 0 => {}
            Ok(pruned) => tracing::info!(?pruned, "pruned rows past their retention"),
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "pruning failed; trying again later")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
