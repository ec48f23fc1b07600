//! Rows in and out: appointments, the outbox and remembered command results.

use cita_shared::contracts::{
    events::{Envelope, Event},
    scheduling::{Appointment, Outcome, Reply, Source, Status},
};
use jiff::Timestamp;
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::error::Error;

/// The columns [`appointment`] reads, in order.
pub const APPOINTMENT_COLUMNS: &str = "id, organization_id, customer_id, staff_id, service_type_id, \
     starts_at, ends_at, status, source, notes, cancellation_reason";

pub fn appointment(row: &Row) -> Result<Appointment, Error> {
    let status: String = row.get(7);
    let source: String = row.get(8);
    Ok(Appointment {
        id: row.get(0),
        organization_id: row.get(1),
        customer_id: row.get(2),
        staff_id: row.get(3),
        service_type_id: row.get(4),
        starts_at: row.get(5),
        ends_at: row.get(6),
        status: Status::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("appointment status {status:?}")))?,
        source: Source::parse(&source)
            .ok_or_else(|| Error::Corrupt(format!("appointment source {source:?}")))?,
        notes: row.get(9),
        cancellation_reason: row.get(10),
    })
}

/// The appointment, locked for update, if it belongs to the organization.
pub async fn appointment_for_update(
    tx: &Transaction<'_>,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Appointment, Error> {
    let row = tx
        .query_opt(
            &format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE organization_id = $1 AND id = $2 FOR UPDATE"),
            &[&organization_id, &id],
        )
        .await?
        .ok_or_else(|| Error::not_found("appointment"))?;
    appointment(&row)
}

/// Writes an event to the outbox; it is published after this transaction commits.
pub async fn emit(
    tx: &Transaction<'_>,
    organization_id: Uuid,
    now: Timestamp,
    event: Event,
) -> Result<(), Error> {
    let envelope = Envelope {
        event_id: Uuid::new_v4(),
        organization_id,
        occurred_at: now,
        event,
    };
    let payload = serde_json::to_value(&envelope).map_err(|e| Error::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO outbox (event_id, organization_id, routing_key, payload) VALUES ($1, $2, $3, $4)",
        &[&envelope.event_id, &organization_id, &envelope.event.routing_key(), &payload],
    )
    .await?;
    Ok(())
}

/// The reply already given to this idempotency key, if any. Locks the key for the rest
/// of the transaction, so that two deliveries of one command run one after the other.
pub async fn recall(
    tx: &Transaction<'_>,
    organization_id: Uuid,
    key: &str,
) -> Result<Option<Reply>, Error> {
    if key.is_empty() {
        return Err(Error::invalid("idempotency_key is empty"));
    }
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 0))",
        &[&organization_id.to_string(), &key],
    )
    .await?;
    let row = tx
        .query_opt(
            "SELECT result FROM command_results WHERE organization_id = $1 AND idempotency_key = $2",
            &[&organization_id, &key],
        )
        .await?;
    row.map(|row| serde_json::from_value(row.get(0)).map_err(|e| Error::Corrupt(e.to_string())))
        .transpose()
}

/// Ends a writing command: its reply (a refusal is a decision too) is remembered under
/// the idempotency key and committed with whatever led to it — the quota notice, say.
/// A failure of ours rolls everything back and is returned, so a retry runs afresh.
pub async fn settle(
    tx: deadpool_postgres::Transaction<'_>,
    organization_id: Uuid,
    key: &str,
    command: &str,
    outcome: Result<Outcome, Error>,
) -> Result<Reply, Error> {
    let reply = match outcome {
        Ok(outcome) => Reply::Ok(outcome),
        Err(Error::Rejected(error)) => Reply::Error(error),
        Err(other) => return Err(other),
    };
    remember(&tx, organization_id, key, command, &reply).await?;
    tx.commit().await?;
    Ok(reply)
}

/// Remembers the reply to this idempotency key.
async fn remember(
    tx: &Transaction<'_>,
    organization_id: Uuid,
    key: &str,
    command: &str,
    reply: &Reply,
) -> Result<(), Error> {
    let result = serde_json::to_value(reply).map_err(|e| Error::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO command_results (organization_id, idempotency_key, command, result) VALUES ($1, $2, $3, $4)",
        &[&organization_id, &key, &command, &result],
    )
    .await?;
    Ok(())
}

/// Serializes writes to one staff member's time until this transaction ends.
///
/// The exclusion constraint alone is correct but, when several transactions insert
/// conflicting rows at once, each can end up waiting on another's savepoint in a way
/// PostgreSQL 15 did not resolve (eight racers stalled until our timeout in `make bench`).
/// With this lock the second writer waits here, then meets the first one's committed row
/// and fails the constraint at once.
pub async fn lock_staff_time(tx: &Transaction<'_>, staff_id: Uuid) -> Result<(), Error> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('staff-time:' || $1::text, 0))",
        &[&staff_id.to_string()],
    )
    .await?;
    Ok(())
}
