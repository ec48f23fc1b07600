//! One turn per conversation at a time, across replicas, without holding a database
//! connection during the model call: a lease on the conversation row (holder + expiry).
//! A crashed holder's lease simply runs out.
//!
//! Releasing is conditional on nothing waiting, checked under the conversation's row
//! lock: a message stored while the turn ran is either seen by the release (which then
//! fails, and the holder runs another turn) or committed after it (and its own turn
//! request then finds the lease free).

use std::time::Duration;

use cita_shared::db::Cached;
use uuid::Uuid;

pub async fn claim(
    client: &impl Cached,
    organization_id: Uuid,
    conversation_id: Uuid,
    holder: Uuid,
    lease: Duration,
) -> Result<bool, tokio_postgres::Error> {
    let claimed = client
        .run(
            "UPDATE conversations
             SET turn_holder = $3, turn_lease_until = now() + make_interval(secs => $4)
             WHERE id = $1 AND organization_id = $2
               AND (turn_lease_until IS NULL OR turn_lease_until < now())",
            &[
                &conversation_id,
                &organization_id,
                &holder,
                &lease.as_secs_f64(),
            ],
        )
        .await?;
    Ok(claimed == 1)
}

/// Extends the lease; false when it was lost (it ran out and another worker took it).
pub async fn renew(
    client: &impl Cached,
    conversation_id: Uuid,
    holder: Uuid,
    lease: Duration,
) -> Result<bool, tokio_postgres::Error> {
    let renewed = client
        .run(
            "UPDATE conversations SET turn_lease_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND turn_holder = $2",
            &[&conversation_id, &holder, &lease.as_secs_f64()],
        )
        .await?;
    Ok(renewed == 1)
}

/// Before a reply is published: locks the conversation row for the rest of `tx` (a
/// takeover then lands before the reply, which sees it, or after it) and extends the
/// lease. `None` when `holder` lost the lease; otherwise whether a person has the
/// conversation now.
pub async fn lock_for_reply(
    tx: &impl Cached,
    conversation_id: Uuid,
    holder: Uuid,
    lease: Duration,
) -> Result<Option<bool>, tokio_postgres::Error> {
    let row = tx
        .maybe_row(
            "UPDATE conversations
             SET turn_lease_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND turn_holder = $2 AND turn_lease_until > now()
             RETURNING status = 'handed_off'
                       AND (handed_off_until IS NULL OR handed_off_until > now())",
            &[&conversation_id, &holder, &lease.as_secs_f64()],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Released,
    /// Messages are waiting: the holder keeps the lease and answers them.
    MoreWork,
    /// The lease is someone else's now.
    Lost,
}

pub async fn release_if_idle(
    client: &mut deadpool_postgres::Client,
    conversation_id: Uuid,
    holder: Uuid,
) -> Result<Release, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    // The row lock first: an intake storing a message for this conversation holds it
    // until it commits, so the check below (a statement of its own, with a fresh
    // snapshot) sees that message, or the intake runs after the release and its turn
    // finds the lease free.
    let held = tx
        .maybe_row(
            "SELECT 1 FROM conversations WHERE id = $1 AND turn_holder = $2 FOR UPDATE",
            &[&conversation_id, &holder],
        )
        .await?;
    if held.is_none() {
        return Ok(Release::Lost);
    }
    let waiting: bool = tx
        .row(
            "SELECT EXISTS (SELECT 1 FROM messages
                            WHERE conversation_id = $1 AND direction = 'inbound'
                              AND answered_at IS NULL)",
            &[&conversation_id],
        )
        .await?
        .get(0);
    if waiting {
        return Ok(Release::MoreWork);
    }
    // Nothing waits: whatever outage this conversation went through is over for it.
    tx.run(
        "UPDATE conversations
         SET turn_holder = NULL, turn_lease_until = NULL,
             ai_failing_since = NULL, apology_sent_at = NULL, turn_retry_at = NULL
         WHERE id = $1",
        &[&conversation_id],
    )
    .await?;
    tx.commit().await?;
    Ok(Release::Released)
}

/// Gives the lease up whatever is waiting (a turn that failed and is retried later).
pub async fn release(
    client: &impl Cached,
    conversation_id: Uuid,
    holder: Uuid,
) -> Result<(), tokio_postgres::Error> {
    client
        .run(
            "UPDATE conversations SET turn_holder = NULL, turn_lease_until = NULL
             WHERE id = $1 AND turn_holder = $2",
            &[&conversation_id, &holder],
        )
        .await?;
    Ok(())
}
