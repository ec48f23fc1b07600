//! What the clock causes: the morning agendas (planned as rows for today and tomorrow in
//! each organization's own zone, so 08:00 is 08:00 local on daylight-saving days too),
//! and conversation housekeeping — handoffs whose pause ran out are released, and active
//! conversations whose 24-hour window closed are marked resolved.

use cita_shared::{
    clock::Clock,
    error::{Chain, Infra},
};
use deadpool_postgres::Pool;
use jiff::{SignedDuration, Timestamp, civil::Time, tz::TimeZone};
use serde_json::json;
use uuid::Uuid;

use crate::kind::Kind;

/// An agenda sent this late is no longer a morning agenda.
const AGENDA_STALE_AFTER: SignedDuration = SignedDuration::from_hours(4);

/// Plans the agendas of today and tomorrow (local) of every active organization; rows
/// that exist already are left alone. Returns how many rows were added.
pub async fn plan_agendas(pool: &Pool, now: Timestamp) -> Result<u64, Infra> {
    let client = pool.get().await?;
    let organizations = client
        .query(
            "SELECT id, timezone, agenda_local_time FROM organizations WHERE status = 'active'",
            &[],
        )
        .await?;
    let insert = client
        .prepare_cached(
            "INSERT INTO notifications (organization_id, kind, dedupe_key, audience, staff_id,
                                        details, due_at, stale_at)
             SELECT $1, $6, $6 || ':' || s.id || ':' || $2, 'staff', s.id, $3, $4, $5
             FROM staff s
             WHERE s.organization_id = $1 AND s.active AND s.phone IS NOT NULL
             ON CONFLICT (organization_id, dedupe_key) DO NOTHING",
        )
        .await?;
    let mut added = 0;
    for row in &organizations {
        let (id, timezone, at): (Uuid, String, Time) = (row.get(0), row.get(1), row.get(2));
        let Ok(tz) = TimeZone::get(&timezone) else {
            tracing::warn!(organization_id = %id, %timezone, "unknown time zone; no agenda planned");
            continue;
        };
        let today = now.to_zoned(tz.clone()).date();
        for date in [Some(today), today.tomorrow().ok()].into_iter().flatten() {
            // A wall time in a spring-forward gap becomes the first instant after it.
            let Ok(due) = date.at(at.hour(), at.minute(), 0, 0).to_zoned(tz.clone()) else {
                continue;
            };
            let due = due.timestamp();
            let stale = due + AGENDA_STALE_AFTER;
            if stale <= now {
                continue;
            }
            let date = date.to_string();
            added += client
                .execute(
                    &insert,
                    &[
                        &id,
                        &date,
                        &json!({"date": date}),
                        &due,
                        &stale,
                        &Kind::Agenda.as_str(),
                    ],
                )
                .await?;
        }
    }
    Ok(added)
}

/// Releases handoffs that ran out and resolves conversations whose window closed.
/// Returns (released, resolved).
pub async fn housekeeping(pool: &Pool, now: Timestamp) -> Result<(u64, u64), Infra> {
    let client = pool.get().await?;
    let released = client
        .execute(
            "UPDATE conversations SET status = 'active', handed_off_until = NULL, updated_at = now()
             WHERE status = 'handed_off' AND handed_off_until <= $1",
            &[&now],
        )
        .await?;
    let resolved = client
        .execute(
            "UPDATE conversations SET status = 'resolved', updated_at = now()
             WHERE status = 'active' AND last_inbound_at <= $1",
            &[&(now - SignedDuration::from_hours(24))],
        )
        .await?;
    Ok((released, resolved))
}

/// Plans and keeps house every `every` until `shutdown`.
pub async fn run(
    pool: Pool,
    clock: Clock,
    every: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let now = clock.now();
        if let Err(error) = plan_agendas(&pool, now).await {
            tracing::warn!(error = %Chain(&error), "planning agendas failed");
        }
        match housekeeping(&pool, now).await {
            Ok((0, 0)) => {}
            Ok((released, resolved)) => {
                tracing::info!(released, resolved, "conversations released and resolved")
            }
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "conversation housekeeping failed")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => {}
        }
    }
}
