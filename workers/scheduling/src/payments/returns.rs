//! What becomes of a paid deposit when its appointment does not happen: a cancellation
//! (which scheduling only accepts within the business's cutoff from a customer) gives the
//! money back through Mercado Pago; a no-show keeps it (`forfeited`), unless the business
//! gives it back (`organizations.no_show_forfeits`). Both are decided on
//! the events, after the appointment's own transaction, and both are idempotent: the
//! refund by its key, the forfeit by the deposit's status.

use cita_shared::{contracts::scheduling::Appointment, crypto::Keyring, db::Cached};
use deadpool_postgres::Pool;

use super::{PaymentError, accounts, mercadopago::MercadoPago};
use crate::error::Error;

/// The paid deposit of `appointment`: (id, payment id).
async fn paid(
    pool: &Pool,
    appointment: &Appointment,
) -> Result<Option<(uuid::Uuid, String)>, Error> {
    Ok(pool
        .get()
        .await?
        .maybe_row(
            "SELECT id, payment_id FROM deposits
             WHERE organization_id = $1 AND appointment_id = $2 AND status = 'paid'",
            &[&appointment.organization_id, &appointment.id],
        )
        .await?
        .map(|row| (row.get(0), row.get(1))))
}

/// A cancelled appointment's paid deposit goes back to the customer.
pub async fn cancelled(
    pool: &Pool,
    keyring: &Keyring,
    provider: &MercadoPago,
    appointment: &Appointment,
) -> Result<(), PaymentError> {
    refund(pool, keyring, provider, appointment).await
}

/// A no-show keeps the deposit, unless the business gives it back.
pub async fn no_show(
    pool: &Pool,
    keyring: &Keyring,
    provider: &MercadoPago,
    appointment: &Appointment,
) -> Result<(), PaymentError> {
    let forfeits: bool = pool
        .get()
        .await?
        .row(
            "SELECT no_show_forfeits FROM organizations WHERE id = $1",
            &[&appointment.organization_id],
        )
        .await?
        .get(0);
    if !forfeits {
        return refund(pool, keyring, provider, appointment).await;
    }
    let forfeited = pool
        .get()
        .await?
        .run(
            "UPDATE deposits SET status = 'forfeited', updated_at = now()
             WHERE organization_id = $1 AND appointment_id = $2 AND status = 'paid'",
            &[&appointment.organization_id, &appointment.id],
        )
        .await?;
    if forfeited > 0 {
        tracing::info!(appointment_id = %appointment.id, "deposit forfeited by a no-show");
    }
    Ok(())
}

async fn refund(
    pool: &Pool,
    keyring: &Keyring,
    provider: &MercadoPago,
    appointment: &Appointment,
) -> Result<(), PaymentError> {
    let Some((deposit, payment)) = paid(pool, appointment).await? else {
        return Ok(());
    };
    let org = appointment.organization_id;
    let Some(account) = accounts::of_organization(pool, keyring, org).await? else {
        tracing::error!(organization_id = %org, %deposit,
            "a paid deposit's appointment was cancelled, but the Mercado Pago account is gone; refund it by hand");
        pool.get()
            .await?
            .run(
                "UPDATE deposits SET status = 'refund_due', updated_at = now() WHERE id = $1",
                &[&deposit],
            )
            .await?;
        return Ok(());
    };
    let refund = provider.refund(&account.token, &payment).await?;
    pool.get()
        .await?
        .run(
            "UPDATE deposits SET status = 'refunded', refund_id = $2, updated_at = now()
             WHERE id = $1 AND status = 'paid'",
            &[&deposit, &refund],
        )
        .await?;
    tracing::info!(organization_id = %org, %deposit, %refund, "deposit refunded");
    Ok(())
}
