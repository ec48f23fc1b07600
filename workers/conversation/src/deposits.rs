//! The deposit a new hold waits for, so that the customer is told right after booking to
//! expect the payment link, not the owner's approval.

use cita_shared::{
    contracts::scheduling::{Appointment, Status},
    db::Cached,
    error::Infra,
};
use deadpool_postgres::Pool;

/// `(amount in minor units, currency)` of the deposit `appointment` waits for, if any.
pub async fn awaited(
    pool: &Pool,
    appointment: &Appointment,
) -> Result<Option<(i64, String)>, Infra> {
    if appointment.status != Status::Pending {
        return Ok(None);
    }
    let row = pool
        .get()
        .await?
        .maybe_row(
            "SELECT amount_minor, trim(currency) FROM deposits
             WHERE appointment_id = $1 AND status = 'awaiting'",
            &[&appointment.id],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}
