//! Rows read the same way by every service that reads them.

use tokio_postgres::Row;

use crate::contracts::scheduling::{Appointment, Source, Status};

/// The columns [`appointment`] reads, in order.
pub const APPOINTMENT_COLUMNS: &str = "id, organization_id, customer_id, staff_id, service_type_id, \
     starts_at, ends_at, status, source, notes, cancellation_reason, hold_expires_at";

/// An appointment from a row of [`APPOINTMENT_COLUMNS`]; `Err` names a stored value this
/// binary does not know.
pub fn appointment(row: &Row) -> Result<Appointment, String> {
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
        status: Status::parse(&status).ok_or_else(|| format!("appointment status {status:?}"))?,
        source: Source::parse(&source).ok_or_else(|| format!("appointment source {source:?}"))?,
        notes: row.get(9),
        cancellation_reason: row.get(10),
        hold_expires_at: row.get(11),
    })
}
