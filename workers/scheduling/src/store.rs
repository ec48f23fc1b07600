//! Rows in and out: appointments, the outbox and remembered command results.

use cita_shared::contracts::{
    events::Event,
    scheduling::{Appointment, Outcome, Reply},
};
use jiff::Timestamp;
use tokio_postgres::{Row, error::SqlState, types::ToSql};
use uuid::Uuid;

use crate::error::Error;

/// The transaction every operation runs in.
pub type Tx<'a> = deadpool_postgres::Transaction<'a>;

pub use cita_shared::db::{Cached, Params};

pub use cita_shared::db::rows::APPOINTMENT_COLUMNS;

pub fn appointment(row: &Row) -> Result<Appointment, Error> {
    cita_shared::db::rows::appointment(row).map_err(Error::Corrupt)
}

/// The appointment, locked for update, if it belongs to the organization.
pub async fn appointment_for_update(
    tx: &Tx<'_>,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Appointment, Error> {
    let row = tx
        .maybe_row(
            &format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE organization_id = $1 AND id = $2 FOR UPDATE"),
            &[&organization_id, &id],
        )
        .await?
        .ok_or_else(|| Error::not_found("appointment"))?;
    appointment(&row)
}

/// Writes an event to the outbox; it is published after this transaction commits.
pub async fn emit(
    tx: &Tx<'_>,
    organization_id: Uuid,
    now: Timestamp,
    event: Event,
) -> Result<(), Error> {
    cita_shared::outbox::emit(tx, organization_id, now, event).await?;
    Ok(())
}

/// What identifies a request under its idempotency key: SHA-256 of its JSON.
pub fn fingerprint(request: &impl serde::Serialize) -> Vec<u8> {
    use sha2::Digest;
    let json = serde_json::to_vec(request).expect("a request serializes");
    sha2::Sha256::digest(json).to_vec()
}

/// The remembered reply to `key`, if it was seen. Locks the key for the rest of the
/// transaction, so that two deliveries of one command run one after the other. The same key with another request (its
/// `fingerprint` differs) is refused, not answered with the first request's reply.
pub async fn recall(
    tx: &Tx<'_>,
    organization_id: Uuid,
    key: &str,
    fingerprint: &[u8],
) -> Result<Option<Reply>, Error> {
    if key.is_empty() {
        return Err(Error::invalid("idempotency_key is empty"));
    }
    // Pipelined: the server runs them in order, so the lookup happens under the lock.
    let org = organization_id.to_string();
    let lock_params: [&(dyn ToSql + Sync); 2] = [&org, &key];
    let lookup_params: [&(dyn ToSql + Sync); 2] = [&organization_id, &key];
    let (_, row) = tokio::try_join!(
        tx.run("SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 0))", &lock_params),
        tx.maybe_row(
            "SELECT result, request_digest FROM command_results WHERE organization_id = $1 AND idempotency_key = $2",
            &lookup_params,
        ),
    )?;
    let Some(row) = row else { return Ok(None) };
    let remembered: Option<Vec<u8>> = row.get(1);
    if remembered.is_some_and(|digest| digest != fingerprint) {
        return Ok(Some(Reply::Error(
            cita_shared::contracts::scheduling::SchedulingError::InvalidRequest {
                reason: "this idempotency key was used for a different request".into(),
            },
        )));
    }
    serde_json::from_value(row.get(0))
        .map(Some)
        .map_err(|e| Error::Corrupt(e.to_string()))
}

/// Ends a writing command: its reply (a refusal is a decision too) is remembered under
/// the idempotency key and committed with whatever led to it — the quota notice, say.
/// A failure of ours rolls everything back and is returned, so a retry runs afresh.
pub async fn settle(
    tx: Tx<'_>,
    organization_id: Uuid,
    key: &str,
    fingerprint: &[u8],
    command: &str,
    outcome: Result<Outcome, Error>,
) -> Result<Reply, Error> {
    let reply = match outcome {
        Ok(outcome) => Reply::Ok(outcome),
        Err(Error::Rejected(error)) => Reply::Error(error),
        Err(other) => return Err(other),
    };
    remember(&tx, organization_id, key, fingerprint, command, &reply).await?;
    tx.commit().await?;
    Ok(reply)
}

/// Remembers the reply to this idempotency key.
async fn remember(
    tx: &Tx<'_>,
    organization_id: Uuid,
    key: &str,
    fingerprint: &[u8],
    command: &str,
    reply: &Reply,
) -> Result<(), Error> {
    let result = serde_json::to_value(reply).map_err(|e| Error::Corrupt(e.to_string()))?;
    tx.run(
        "INSERT INTO command_results (organization_id, idempotency_key, command, result, request_digest)
         VALUES ($1, $2, $3, $4, $5)",
        &[&organization_id, &key, &command, &result, &fingerprint],
    )
    .await?;
    Ok(())
}

/// Writes an appointment into one staff member's time: `sql` inserts or moves the row and
/// returns [`APPOINTMENT_COLUMNS`]. `None` when the exclusion constraint refuses it (a
/// concurrent booking won); a savepoint keeps the transaction usable for the next try.
///
/// The staff member's time is locked first. The constraint alone is correct but, when
/// several transactions insert conflicting rows at once, each can end up waiting on
/// another's savepoint in a way PostgreSQL 15 did not resolve (eight racers stalled until
/// our timeout in `make bench`). With the lock the second writer waits here, then meets
/// the first one's committed row and fails the constraint at once.
pub async fn claim_time(
    tx: &Tx<'_>,
    staff_id: Uuid,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Appointment>, Error> {
    tx.run(
        "SELECT pg_advisory_xact_lock(hashtextextended('staff-time:' || $1::text, 0))",
        &[&staff_id.to_string()],
    )
    .await?;
    tx.batch_execute("SAVEPOINT claim").await?;
    match tx.row(sql, params).await {
        Ok(row) => {
            tx.batch_execute("RELEASE SAVEPOINT claim").await?;
            appointment(&row).map(Some)
        }
        Err(error) if error.code() == Some(&SqlState::EXCLUSION_VIOLATION) => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT claim").await?;
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}
