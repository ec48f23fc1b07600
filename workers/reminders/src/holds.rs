//! Holds that ran out: on this service's clock, each replica frees a batch of expired
//! holds in one transaction and writes `appointment.hold_ended` for each to the outbox.
//! Rows are taken with `FOR UPDATE SKIP LOCKED` and only while still `pending`, so with
//! any number of replicas a hold expires exactly once — and never after the owner
//! approved it, since the approval locks and changes the same row.

use std::time::Duration;

use cita_shared::{
    clock::Clock,
    contracts::{events::Event, scheduling::HoldOutcome},
    db::rows::{self, APPOINTMENT_COLUMNS},
    error::{Chain, Infra},
    outbox,
};
use deadpool_postgres::Pool;
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

/// Holds freed per transaction.
const BATCH: i64 = 100;

/// Frees up to [`BATCH`] holds whose expiry is at or before `now`; returns how many.
pub async fn expire(pool: &Pool, now: Timestamp) -> Result<usize, Infra> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let statement = tx
        .prepare_cached(&format!(
            "UPDATE appointments SET status = 'cancelled', hold_outcome = 'expired', updated_at = now()
             WHERE id IN (SELECT id FROM appointments
                          WHERE status = 'pending' AND hold_expires_at <= $1
                          ORDER BY hold_expires_at LIMIT $2
                          FOR UPDATE SKIP LOCKED)
             RETURNING {APPOINTMENT_COLUMNS}"
        ))
        .await?;
    let freed = tx.query(&statement, &[&now, &BATCH]).await?;
    for row in &freed {
        let appointment = match rows::appointment(row) {
            Ok(appointment) => appointment,
            Err(corrupt) => {
                // Freed all the same: the slot must not stay blocked by a row we can't read.
                tracing::error!(%corrupt, "an expired hold could not be read; freed without notices");
                continue;
            }
        };
        tracing::info!(appointment_id = %appointment.id, organization_id = %appointment.organization_id, "hold expired; its time is free");
        let organization_id = appointment.organization_id;
        let event = Event::HoldEnded {
            appointment,
            outcome: HoldOutcome::Expired,
            actor: None,
        };
        outbox::emit(&tx, organization_id, now, event).await?;
    }
    tx.commit().await?;
    Ok(freed.len())
}

/// Expires holds every `every` until `shutdown`; a full batch goes on at once.
pub async fn run(pool: Pool, clock: Clock, every: Duration, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let pause = match expire(&pool, clock.now()).await {
            Ok(n) if n as i64 == BATCH => Duration::ZERO,
            Ok(_) => every,
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "expiring holds failed; retrying");
                every
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => {}
        }
    }
}
