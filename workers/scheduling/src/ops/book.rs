//! Booking: by a customer or staff for a given start, and walk-ins.

use cita_shared::{
    contracts::{
        events::Event,
        scheduling::{
            Appointment, BookRequest, Outcome, Reply, SchedulingError, Source, WalkInRequest,
        },
    },
    customers,
};
use jiff::{SignedDuration, Timestamp, ToSpan};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{Scheduler, deposits, refusal, writing};
use crate::{
    authz::{self, Principal},
    calendar::{self, Organization, Search, Service},
    error::{Error, FORBIDDEN},
    store::{self, APPOINTMENT_COLUMNS, Cached, Tx},
};

pub use cita_shared::contracts::scheduling::FREE_PLAN_MONTHLY_BOOKINGS;

pub async fn book(scheduler: &Scheduler, request: BookRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let principal = authz::resolve(tx, &request.actor).await?;
            let customer_id = customer_for(tx, &principal, org_id, &request).await?;
            let staff_filter = staff_filter(&principal, request.staff_id)?;
            let (org, service) = tokio::try_join!(
                calendar::organization(tx, org_id),
                calendar::service(tx, org_id, request.service_type_id)
            )?;
            check_quota(tx, &org, now).await?;

            let day = calendar::local_date(&org.time_zone, request.starts_at);
            let mut search = Search::days(day, day);
            search.staff_id = staff_filter;
            let free = calendar::free_slots(tx, &org, &service, &search, now).await?;
            let Some(slot) = free.into_iter().find(|s| s.start == request.starts_at) else {
                return Err(refusal(
                    tx,
                    &org,
                    &service,
                    request.starts_at,
                    staff_filter,
                    None,
                    now,
                )
                .await?);
            };
            let deposit_minor = deposit_due(&principal, &org, &service);
            let new = NewAppointment {
                customer_id,
                service: &service,
                starts_at: request.starts_at,
                source: request.source,
                notes: request.notes.as_deref(),
                hold_until: hold_until(
                    &principal,
                    &org,
                    &service,
                    deposit_minor.is_some(),
                    request.starts_at,
                    now,
                ),
            };
            let Some(appointment) = insert_first_free(tx, org_id, &slot.resources, &new).await?
            else {
                // Every candidate lost a race since we looked: the constraint said no.
                return Err(refusal(
                    tx,
                    &org,
                    &service,
                    request.starts_at,
                    staff_filter,
                    None,
                    now,
                )
                .await?);
            };
            let event = if new.hold_until.is_some() {
                let deposit = match deposit_minor {
                    Some(amount) => {
                        Some(deposits::ask(tx, &appointment, amount, &service.currency).await?)
                    }
                    None => None,
                };
                Event::AppointmentHeld {
                    appointment: appointment.clone(),
                    actor: request.actor,
                    deposit,
                }
            } else {
                Event::AppointmentBooked {
                    appointment: appointment.clone(),
                    actor: request.actor,
                }
            };
            store::emit(tx, org_id, now, event).await?;
            Ok(Outcome::Appointment { appointment })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "book", command)
        .await
}

/// A walk-in: starts now if the staff member is free, otherwise at their next free slot.
pub async fn walk_in(scheduler: &Scheduler, request: WalkInRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let principal = authz::resolve(tx, &request.actor).await?;
            let Principal::Staff { id: asking, .. } = principal else {
                return Err(FORBIDDEN);
            };
            let staff_id = request.staff_id.unwrap_or(asking);
            if !principal.may_act_for_staff(staff_id) {
                return Err(FORBIDDEN);
            }
            let (org, service) = tokio::try_join!(
                calendar::organization(tx, org_id),
                calendar::service(tx, org_id, request.service_type_id)
            )?;
            check_quota(tx, &org, now).await?;
            let customer_id = walk_in_customer(
                tx,
                org_id,
                request.customer_name.as_deref(),
                request.customer_phone.as_deref(),
            )
            .await?;
            let mut new = NewAppointment {
                customer_id,
                service: &service,
                // Whole minutes read better on an agenda.
                starts_at: now
                    .round(jiff::Unit::Minute)
                    .map_err(|e| Error::invalid(e.to_string()))?,
                source: Source::WalkIn,
                notes: None,
                hold_until: None,
            };
            let appointment = match insert_first_free(tx, org_id, &[staff_id], &new).await? {
                Some(appointment) => appointment,
                None => {
                    let today = calendar::local_date(&org.time_zone, now);
                    let mut search = Search::days(
                        today,
                        today
                            .checked_add(1.day())
                            .map_err(|e| Error::invalid(e.to_string()))?,
                    );
                    search.staff_id = Some(staff_id);
                    search.min_notice = Some(SignedDuration::ZERO);
                    let next = calendar::free_slots(tx, &org, &service, &search, now).await?;
                    let Some(slot) = next.first() else {
                        return Err(Error::Rejected(SchedulingError::NotAvailable {
                            alternatives: Vec::new(),
                        }));
                    };
                    new.starts_at = slot.start;
                    insert_first_free(tx, org_id, &[staff_id], &new)
                        .await?
                        .ok_or(Error::Rejected(SchedulingError::SlotTaken {
                            alternatives: Vec::new(),
                        }))?
                }
            };
            store::emit(
                tx,
                org_id,
                now,
                Event::AppointmentBooked {
                    appointment: appointment.clone(),
                    actor: request.actor,
                },
            )
            .await?;
            Ok(Outcome::Appointment { appointment })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "walk_in", command)
        .await
}

struct NewAppointment<'a> {
    customer_id: Uuid,
    service: &'a Service,
    starts_at: Timestamp,
    source: Source,
    notes: Option<&'a str>,
    /// `Some`: a hold, waiting for approval until then.
    hold_until: Option<Timestamp>,
}

/// The deposit a customer's booking asks for, in minor units: staff book without one.
fn deposit_due(principal: &Principal, org: &Organization, service: &Service) -> Option<i64> {
    if principal.is_staff() {
        return None;
    }
    service
        .deposit
        .unwrap_or(org.deposit)
        .amount(service.price_minor)
}

/// Until when a booking waits for the owner's approval or its deposit, if it must: only
/// customers' bookings do (staff decide as they book), for as long as the business gives
/// itself, and never past the appointment's start.
fn hold_until(
    principal: &Principal,
    org: &Organization,
    service: &Service,
    deposit: bool,
    starts_at: Timestamp,
    now: Timestamp,
) -> Option<Timestamp> {
    let required = deposit || service.approval_required.unwrap_or(org.approval_required);
    if principal.is_staff() || !required {
        return None;
    }
    Some(
        now.checked_add(org.hold)
            .map_or(starts_at, |end| end.min(starts_at)),
    )
}

/// Inserts the appointment with the first of `staff` whose time is still free. The
/// exclusion constraint is the judge: a staff member booked by a concurrent transaction
/// since we read the calendar makes the insert fail, and the next one is tried.
async fn insert_first_free(
    tx: &Tx<'_>,
    organization_id: Uuid,
    staff: &[Uuid],
    new: &NewAppointment<'_>,
) -> Result<Option<Appointment>, Error> {
    let ends_at = new
        .starts_at
        .checked_add(new.service.duration)
        .map_err(|e| Error::invalid(e.to_string()))?;
    let sql = format!(
        "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id, starts_at,
             ends_at, buffer_minutes, status, source, notes, price_minor, currency, hold_expires_at)
         SELECT $1, $2, $3, $4, $5, $6, $7,
                CASE WHEN $10::timestamptz IS NULL THEN 'confirmed' ELSE 'pending' END,
                $8, $9, price_minor, currency, $10
         FROM service_types WHERE id = $4
         RETURNING {APPOINTMENT_COLUMNS}"
    );
    for staff_id in staff {
        let params: [&(dyn ToSql + Sync); 10] = [
            &organization_id,
            &new.customer_id,
            staff_id,
            &new.service.id,
            &new.starts_at,
            &ends_at,
            &new.service.buffer_minutes(),
            &new.source.as_str(),
            &new.notes,
            &new.hold_until,
        ];
        if let Some(appointment) = store::claim_time(tx, *staff_id, &sql, &params).await? {
            return Ok(Some(appointment));
        }
    }
    Ok(None)
}

/// The customer a booking is for: a customer books for themselves; staff name one, by
/// id or by phone.
async fn customer_for(
    tx: &Tx<'_>,
    principal: &Principal,
    organization_id: Uuid,
    request: &BookRequest,
) -> Result<Uuid, Error> {
    match (principal, request.customer_id) {
        (Principal::Customer { id }, None) => Ok(*id),
        (Principal::Customer { id }, Some(other)) if *id == other => Ok(*id),
        (Principal::Customer { .. }, Some(_)) => Err(FORBIDDEN),
        (Principal::Staff { .. }, None) => match &request.customer_phone {
            Some(number) => {
                check_phone(number)?;
                let name = request.customer_name.as_deref();
                Ok(customers::for_phone(tx, organization_id, number, name).await?)
            }
            None => Err(Error::invalid(
                "customer_id or customer_phone is required when staff book",
            )),
        },
        (Principal::Staff { .. }, Some(customer_id)) => {
            let exists = tx
                .maybe_row(
                    "SELECT 1 FROM customers WHERE organization_id = $1 AND id = $2",
                    &[&organization_id, &customer_id],
                )
                .await?
                .is_some();
            if exists {
                Ok(customer_id)
            } else {
                Err(Error::not_found("customer"))
            }
        }
    }
}

/// The walk-in's customer: found by phone, or created (phone and name are optional).
async fn walk_in_customer(
    tx: &Tx<'_>,
    organization_id: Uuid,
    name: Option<&str>,
    phone: Option<&str>,
) -> Result<Uuid, Error> {
    if let Some(phone) = phone {
        check_phone(phone)?;
        return Ok(customers::for_phone(tx, organization_id, phone, name).await?);
    }
    let row = tx
        .row(
            "INSERT INTO customers (organization_id, name) VALUES ($1, $2) RETURNING id",
            &[&organization_id, &name],
        )
        .await?;
    Ok(row.get(0))
}

fn check_phone(number: &str) -> Result<(), Error> {
    if !(8..=15).contains(&number.len())
        || !number.bytes().all(|b| b.is_ascii_digit())
        || number.starts_with('0')
    {
        return Err(Error::invalid(
            "customer_phone must be E.164 digits without '+'",
        ));
    }
    Ok(())
}

/// Refuses a booking past the free plan's monthly quota, telling the owner once a month.
async fn check_quota(tx: &Tx<'_>, org: &Organization, now: Timestamp) -> Result<(), Error> {
    if !org.free_plan {
        return Ok(());
    }
    // Serializes this organization's bookings while it counts, so two bookings at 49
    // can't both pass.
    tx.run(
        "SELECT pg_advisory_xact_lock(hashtextextended('quota:' || $1::text, 0))",
        &[&org.id.to_string()],
    )
    .await?;
    let month = now
        .to_zoned(org.time_zone.clone())
        .first_of_month()
        .and_then(|z| z.start_of_day())
        .map_err(|e| Error::invalid(e.to_string()))?;
    let booked: i64 = tx
        .row(
            "SELECT count(*) FROM appointments WHERE organization_id = $1 AND created_at >= $2",
            &[&org.id, &month.timestamp()],
        )
        .await?
        .get(0);
    if booked < i64::from(FREE_PLAN_MONTHLY_BOOKINGS) {
        return Ok(());
    }
    let first_refusal = tx
        .run(
            "INSERT INTO quota_notices (organization_id, month) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&org.id, &month.date()],
        )
        .await?
        == 1;
    if first_refusal {
        store::emit(
            tx,
            org.id,
            now,
            Event::QuotaExceeded {
                month: month.date(),
                limit: FREE_PLAN_MONTHLY_BOOKINGS,
            },
        )
        .await?;
    }
    Err(Error::Rejected(SchedulingError::QuotaExceeded))
}

/// Whose time a booking may take. Customers pick anyone (or no one in particular);
/// staff book themselves, or anyone with `manage_appointments`.
pub(super) fn staff_filter(
    principal: &Principal,
    requested: Option<Uuid>,
) -> Result<Option<Uuid>, Error> {
    match (principal, requested) {
        (Principal::Customer { .. }, requested) => Ok(requested),
        (Principal::Staff { .. }, Some(staff_id)) if principal.may_act_for_staff(staff_id) => {
            Ok(Some(staff_id))
        }
        (Principal::Staff { .. }, Some(_)) => Err(FORBIDDEN),
        (Principal::Staff { .. }, None) if principal.manages_others() => Ok(None),
        (Principal::Staff { id, .. }, None) => Ok(Some(*id)),
    }
}
