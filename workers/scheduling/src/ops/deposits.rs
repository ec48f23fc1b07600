//! Deposits: asked for when a customer books a service that needs one, and settled when
//! the payments consumer has re-fetched a payment and believes it. A paid deposit turns
//! its hold into a confirmed appointment; a hold that ended meanwhile is booked again if
//! its time is still free, and otherwise the payment is owed back.

use cita_shared::contracts::{
    events::{DepositIssue, Event},
    scheduling::{Actor, Appointment, Channel, Deposit, Status, Who},
};
use uuid::Uuid;

use super::{Scheduler, holds};
use crate::{
    error::Error,
    store::{self, APPOINTMENT_COLUMNS, Cached, Tx},
};

/// Records the deposit a new hold waits for.
pub(super) async fn ask(
    tx: &Tx<'_>,
    appointment: &Appointment,
    amount_minor: i64,
    currency: &str,
) -> Result<Deposit, Error> {
    let id: Uuid = tx
        .row(
            "INSERT INTO deposits (organization_id, appointment_id, amount_minor, currency)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[
                &appointment.organization_id,
                &appointment.id,
                &amount_minor,
                &currency,
            ],
        )
        .await?
        .get(0);
    Ok(Deposit {
        id,
        amount_minor,
        currency: currency.to_owned(),
    })
}

/// A payment the provider reports approved, as re-fetched from it.
#[derive(Debug, Clone)]
pub struct Paid {
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// What a payment did.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// The hold is a confirmed appointment now.
    Confirmed(Appointment),
    /// This payment was already counted: a duplicate or out-of-order notification.
    AlreadyPaid,
    /// Paid, but the hold ended and its time was taken: the payment is owed back.
    RefundDue {
        appointment: Appointment,
        deposit: Deposit,
    },
    /// What was paid is not what was asked; nothing was confirmed and the owner is told.
    Mismatch(Appointment),
    /// The deposit was already paid by another payment, which is owed back.
    PaidTwice {
        appointment: Appointment,
        deposit: Deposit,
    },
}

impl Settled {
    /// For the log.
    pub fn label(&self) -> &'static str {
        match self {
            Settled::Confirmed(_) => "confirmed",
            Settled::AlreadyPaid => "already_paid",
            Settled::RefundDue { .. } => "refund_due",
            Settled::Mismatch(_) => "mismatch",
            Settled::PaidTwice { .. } => "paid_twice",
        }
    }
}

impl Scheduler {
    /// Settles `deposit_id` of `organization_id` with `paid`, in one transaction. An
    /// unknown deposit (or another organization's) is `NotFound`.
    pub async fn settle_deposit(
        &self,
        organization_id: Uuid,
        deposit_id: Uuid,
        paid: &Paid,
    ) -> Result<Settled, Error> {
        let now = self.now();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .maybe_row(
                "SELECT appointment_id, amount_minor, trim(currency), status, payment_id
                 FROM deposits WHERE organization_id = $1 AND id = $2 FOR UPDATE",
                &[&organization_id, &deposit_id],
            )
            .await?
            .ok_or_else(|| Error::not_found("deposit"))?;
        let deposit = Deposit {
            id: deposit_id,
            amount_minor: row.get(1),
            currency: row.get(2),
        };
        let status: String = row.get(3);
        let counted: Option<String> = row.get(4);
        let current = store::appointment_for_update(&tx, organization_id, row.get(0)).await?;
        let actor = Actor {
            organization_id,
            who: Who::Customer {
                customer_id: current.customer_id,
            },
            channel: Channel::Whatsapp,
            api_key_id: None,
        };
        cita_shared::db::audit::act_as(&tx, &actor, "deposit_paid").await?;
        let settled = if counted.as_deref() == Some(paid.payment_id.as_str()) {
            Settled::AlreadyPaid
        } else if status != "awaiting" {
            Settled::PaidTwice {
                appointment: current,
                deposit,
            }
        } else if (paid.amount_minor, paid.currency.as_str())
            != (deposit.amount_minor, deposit.currency.as_str())
        {
            let issue = DepositIssue::AmountMismatch {
                paid_minor: paid.amount_minor,
                paid_currency: paid.currency.clone(),
            };
            emit_issue(&tx, &current, &deposit, issue, now).await?;
            Settled::Mismatch(current)
        } else {
            let outcome: Option<String> = tx
                .row(
                    "SELECT hold_outcome FROM appointments WHERE id = $1",
                    &[&current.id],
                )
                .await?
                .get(0);
            let booked = match current.status {
                Status::Pending if current.hold_expires_at.is_some_and(|at| at > now) => {
                    Some(holds::approve(&tx, &current, actor, now).await?)
                }
                // Past its deadline, or freed by the clock: paid late. A hold the owner
                // rejected, or that the customer cancelled, is not revived by paying.
                Status::Pending => rebook(&tx, &current, actor, now).await?,
                Status::Cancelled if outcome.as_deref() == Some("expired") => {
                    rebook(&tx, &current, actor, now).await?
                }
                // The owner approved it before the payment came: it pays the deposit.
                Status::Confirmed => Some(current.clone()),
                _ => None,
            };
            let (deposit_status, settled) = match booked {
                Some(appointment) => ("paid", Settled::Confirmed(appointment)),
                None => {
                    emit_issue(&tx, &current, &deposit, DepositIssue::RefundDue, now).await?;
                    (
                        "refund_due",
                        Settled::RefundDue {
                            appointment: current,
                            deposit: deposit.clone(),
                        },
                    )
                }
            };
            tx.run(
                "UPDATE deposits SET status = $2, payment_id = $3, paid_at = now(), updated_at = now()
                 WHERE id = $1",
                &[&deposit_id, &deposit_status, &paid.payment_id],
            )
            .await?;
            settled
        };
        tx.commit().await?;
        if let (Settled::Confirmed(_), Some(cache)) = (&settled, &self.cache) {
            cache.invalidate(organization_id).await;
        }
        Ok(settled)
    }
}

/// A hold that ended (expired, or past its deadline) is booked again if its time is
/// still free; the exclusion constraint decides, as for any booking.
async fn rebook(
    tx: &Tx<'_>,
    current: &Appointment,
    actor: Actor,
    now: jiff::Timestamp,
) -> Result<Option<Appointment>, Error> {
    if current.starts_at <= now {
        return Ok(None);
    }
    let sql = format!(
        "UPDATE appointments SET status = 'confirmed', hold_outcome = 'approved',
                cancellation_reason = NULL, updated_at = now()
         WHERE id = $1 RETURNING {APPOINTMENT_COLUMNS}"
    );
    let Some(appointment) = store::claim_time(tx, current.staff_id, &sql, &[&current.id]).await?
    else {
        return Ok(None);
    };
    let event = Event::AppointmentBooked {
        appointment: appointment.clone(),
        actor,
    };
    store::emit(tx, current.organization_id, now, event).await?;
    Ok(Some(appointment))
}

async fn emit_issue(
    tx: &Tx<'_>,
    appointment: &Appointment,
    deposit: &Deposit,
    issue: DepositIssue,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    let event = Event::DepositIssue {
        appointment: appointment.clone(),
        deposit: deposit.clone(),
        issue,
    };
    store::emit(tx, appointment.organization_id, now, event).await
}
