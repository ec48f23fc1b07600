//! Deciding a hold: approved, it becomes a confirmed appointment (and is booked, for
//! everyone downstream, only now); rejected, its time is freed and the customer told why.

use cita_shared::contracts::{
    events::Event,
    scheduling::{
        Actor, Appointment, DecideHoldRequest, HoldOutcome, Outcome, Reply, SchedulingError, Status,
    },
};
use jiff::Timestamp;

use super::{Scheduler, writing};
use crate::{
    authz,
    error::{Error, FORBIDDEN},
    store::{self, APPOINTMENT_COLUMNS, Cached, Tx},
};

/// The longest rejection reason kept; the customer reads it in a WhatsApp message.
const MAX_REASON: usize = 300;

pub async fn decide(scheduler: &Scheduler, request: DecideHoldRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let principal = authz::resolve(tx, &request.actor).await?;
            let current = store::appointment_for_update(tx, org_id, request.appointment_id).await?;
            if !principal.is_staff() || !principal.may_change(current.customer_id, current.staff_id)
            {
                return Err(FORBIDDEN);
            }
            let appointment = if request.approve {
                approve(tx, &current, request.actor, now).await?
            } else {
                let reason = request
                    .reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty());
                if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
                    return Err(Error::invalid(format!(
                        "a reason has at most {MAX_REASON} characters"
                    )));
                }
                reject(tx, &current, request.actor, reason, now).await?
            };
            Ok(Outcome::Appointment { appointment })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "decide_hold", command)
        .await
}

/// Confirms `current`, a hold locked for update, if it is still waiting.
pub(super) async fn approve(
    tx: &Tx<'_>,
    current: &Appointment,
    actor: Actor,
    now: Timestamp,
) -> Result<Appointment, Error> {
    still_waiting(tx, current, now).await?;
    let row = tx
        .row(
            &format!(
                "UPDATE appointments SET status = 'confirmed', hold_outcome = 'approved', updated_at = now()
                 WHERE id = $1 RETURNING {APPOINTMENT_COLUMNS}"
            ),
            &[&current.id],
        )
        .await?;
    let appointment = store::appointment(&row)?;
    let event = Event::AppointmentBooked {
        appointment: appointment.clone(),
        actor,
    };
    store::emit(tx, current.organization_id, now, event).await?;
    Ok(appointment)
}

async fn reject(
    tx: &Tx<'_>,
    current: &Appointment,
    actor: Actor,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<Appointment, Error> {
    still_waiting(tx, current, now).await?;
    let row = tx
        .row(
            &format!(
                "UPDATE appointments SET status = 'cancelled', hold_outcome = 'rejected',
                        cancellation_reason = $2, updated_at = now()
                 WHERE id = $1 RETURNING {APPOINTMENT_COLUMNS}"
            ),
            &[&current.id, &reason],
        )
        .await?;
    let appointment = store::appointment(&row)?;
    let event = Event::HoldEnded {
        appointment: appointment.clone(),
        outcome: HoldOutcome::Rejected,
        actor: Some(actor),
    };
    store::emit(tx, current.organization_id, now, event).await?;
    Ok(appointment)
}

/// A hold is decided once, and not after it ran out — even if the reminders clock has not
/// freed it yet: the customer was told a deadline.
async fn still_waiting(tx: &Tx<'_>, current: &Appointment, now: Timestamp) -> Result<(), Error> {
    let expired = |expired_at| Error::Rejected(SchedulingError::HoldExpired { expired_at });
    match (current.status, current.hold_expires_at) {
        (Status::Pending, Some(expires)) if expires <= now => Err(expired(expires)),
        (Status::Pending, _) => Ok(()),
        (status, Some(expires)) => {
            let outcome: Option<String> = tx
                .row(
                    "SELECT hold_outcome FROM appointments WHERE id = $1",
                    &[&current.id],
                )
                .await?
                .get(0);
            if outcome.as_deref() == Some(HoldOutcome::Expired.as_str()) {
                Err(expired(expires))
            } else {
                Err(Error::Rejected(SchedulingError::AlreadyDecided { status }))
            }
        }
        (status, None) => Err(Error::Rejected(SchedulingError::AlreadyDecided { status })),
    }
}
