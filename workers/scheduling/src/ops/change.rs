//! Changing an appointment: cancel, move, set its status.

use cita_shared::contracts::{
    events::Event,
    scheduling::{
        CancelRequest, Outcome, Reply, RescheduleRequest, SchedulingError, SetStatusRequest, Status,
    },
};
use tokio_postgres::types::ToSql;

use super::{Scheduler, book::staff_filter, holds, refusal, writing};
use crate::{
    authz::{self, Principal},
    calendar::{self, Search},
    error::{Error, FORBIDDEN},
    store::{self, APPOINTMENT_COLUMNS, Cached},
};

pub async fn cancel(scheduler: &Scheduler, request: CancelRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let principal = authz::resolve(tx, &request.actor).await?;
            let current = store::appointment_for_update(tx, org_id, request.appointment_id).await?;
            if !principal.may_change(current.customer_id, current.staff_id) {
                return Err(FORBIDDEN);
            }
            if !current.status.is_live() {
                return Err(illegal(current.status, Status::Cancelled));
            }
            if !principal.is_staff() {
                let cutoff = calendar::change_cutoff(tx, org_id, current.service_type_id).await?;
                before_cutoff(cutoff, current.starts_at, now)?;
            }
            let row = tx
            .row(
                &format!(
                    "UPDATE appointments SET status = 'cancelled', cancellation_reason = $2, updated_at = now()
                     WHERE id = $1 RETURNING {APPOINTMENT_COLUMNS}"
                ),
                &[&current.id, &request.reason],
            )
            .await?;
            let appointment = store::appointment(&row)?;
            store::emit(
                tx,
                org_id,
                now,
                Event::AppointmentCancelled {
                    appointment: appointment.clone(),
                    actor: request.actor,
                },
            )
            .await?;
            Ok(Outcome::Appointment { appointment })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "cancel", command)
        .await
}

/// Moves a live appointment. The new time is checked and the old one freed in one
/// statement, so the appointment never blocks itself and never holds two times.
pub async fn reschedule(scheduler: &Scheduler, request: RescheduleRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let principal = authz::resolve(tx, &request.actor).await?;
            let current = store::appointment_for_update(tx, org_id, request.appointment_id).await?;
            if !principal.may_change(current.customer_id, current.staff_id) {
                return Err(FORBIDDEN);
            }
            if !current.status.is_live() {
                return Err(Error::invalid(format!(
                    "a {} appointment cannot be moved",
                    current.status.as_str()
                )));
            }
            let staff_filter = match (&principal, request.staff_id) {
                (Principal::Customer { .. }, requested) => requested,
                (Principal::Staff { .. }, requested) => {
                    staff_filter(&principal, requested.or(Some(current.staff_id)))?
                }
            };
            let (org, service) = tokio::try_join!(
                calendar::organization(tx, org_id),
                calendar::service(tx, org_id, current.service_type_id)
            )?;
            if !principal.is_staff() {
                let cutoff = calendar::change_cutoff(tx, org_id, current.service_type_id).await?;
                before_cutoff(cutoff, current.starts_at, now)?;
            }
            let day = calendar::local_date(&org.time_zone, request.starts_at);
            let mut search = Search::days(day, day);
            search.staff_id = staff_filter;
            search.ignoring = Some(current.id);
            let free = calendar::free_slots(tx, &org, &service, &search, now).await?;
            let Some(slot) = free.into_iter().find(|s| s.start == request.starts_at) else {
                return Err(refusal(
                    tx,
                    &org,
                    &service,
                    request.starts_at,
                    staff_filter,
                    Some(current.id),
                    now,
                )
                .await?);
            };
            // The same staff member when they are free, otherwise the first who is.
            let mut candidates = slot.resources;
            if let Some(same) = candidates.iter().position(|id| *id == current.staff_id) {
                candidates.swap(0, same);
            }
            let ends_at = request
                .starts_at
                .checked_add(service.duration)
                .map_err(|e| Error::invalid(e.to_string()))?;
            let sql = format!(
                "UPDATE appointments SET starts_at = $2, ends_at = $3, staff_id = $4, updated_at = now()
                 WHERE id = $1 RETURNING {APPOINTMENT_COLUMNS}"
            );
            for staff_id in &candidates {
                let params: [&(dyn ToSql + Sync); 4] =
                    [&current.id, &request.starts_at, &ends_at, staff_id];
                if let Some(appointment) = store::claim_time(tx, *staff_id, &sql, &params).await? {
                    let event = Event::AppointmentRescheduled {
                        appointment: appointment.clone(),
                        previous_starts_at: current.starts_at,
                        previous_staff_id: current.staff_id,
                        actor: request.actor,
                    };
                    store::emit(tx, org_id, now, event).await?;
                    return Ok(Outcome::Appointment { appointment });
                }
            }
            Err(refusal(
                tx,
                &org,
                &service,
                request.starts_at,
                staff_filter,
                Some(current.id),
                now,
            )
            .await?)
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "reschedule", command)
        .await
}

/// Legal transitions: pending → confirmed; pending or confirmed → cancelled; confirmed →
/// completed or no-show. Only staff set statuses (customers cancel through `cancel`).
pub async fn set_status(scheduler: &Scheduler, request: SetStatusRequest) -> Result<Reply, Error> {
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
            let legal = matches!(
                (current.status, request.status),
                (Status::Pending, Status::Confirmed | Status::Cancelled)
                    | (
                        Status::Confirmed,
                        Status::Completed | Status::NoShow | Status::Cancelled
                    )
            );
            if !legal {
                return Err(illegal(current.status, request.status));
            }
            // Confirming a hold is approving it: booked only now, for everyone downstream.
            if (current.status, request.status) == (Status::Pending, Status::Confirmed) {
                let appointment = holds::approve(tx, &current, request.actor, now).await?;
                return Ok(Outcome::Appointment { appointment });
            }
            let row = tx
            .row(
                &format!(
                    "UPDATE appointments SET status = $2, notes = coalesce($3, notes), updated_at = now()
                     WHERE id = $1 RETURNING {APPOINTMENT_COLUMNS}"
                ),
                &[&current.id, &request.status.as_str(), &request.notes],
            )
            .await?;
            let appointment = store::appointment(&row)?;
            let event = Event::AppointmentStatusChanged {
                appointment: appointment.clone(),
                previous: current.status,
                actor: request.actor,
            };
            store::emit(tx, org_id, now, event).await?;
            Ok(Outcome::Appointment { appointment })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "set_status", command)
        .await
}

fn illegal(from: Status, to: Status) -> Error {
    Error::Rejected(SchedulingError::IllegalTransition { from, to })
}

/// Customers move and cancel until the cutoff before the appointment (its service's, or
/// else the business's); staff are not bound by it.
fn before_cutoff(
    cutoff: jiff::SignedDuration,
    starts_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    if cutoff.is_zero()
        || now
            .checked_add(cutoff)
            .is_ok_and(|limit| limit <= starts_at)
    {
        return Ok(());
    }
    Err(Error::Rejected(SchedulingError::TooLate {
        cutoff_minutes: u32::try_from(cutoff.as_mins()).unwrap_or(u32::MAX),
    }))
}
