//! Reading: free slots, agendas, a customer's upcoming appointments and history.

use cita_shared::contracts::scheduling::{
    AvailabilityRequest, CustomerRequest, OpeningHoursRequest, Outcome, Reply, ScheduleRequest,
    TimeRange,
};

use super::{Scheduler, free_slot};
use crate::{
    authz,
    cache::Lookup,
    calendar::{self, Search},
    error::{Error, FORBIDDEN},
    store::{self, APPOINTMENT_COLUMNS, Cached},
};

pub async fn availability(
    scheduler: &Scheduler,
    request: AvailabilityRequest,
) -> Result<Reply, Error> {
    let now = scheduler.now();
    // No transaction: each read is consistent on its own, and a booking re-checks anyway.
    let client = scheduler.pool.get().await?;
    let db: &deadpool_postgres::ClientWrapper = &client;
    let (_, org) = tokio::try_join!(
        authz::resolve(db, &request.actor),
        calendar::organization(db, request.actor.organization_id)
    )?;
    let earliest = now
        .checked_add(org.min_notice)
        .map_err(|e| Error::invalid(e.to_string()))?;
    // Times for moving one appointment are its own question: not cached.
    let cache = scheduler
        .cache
        .as_ref()
        .filter(|_| request.moving.is_none());
    let store_as = match cache {
        Some(cache) => match cache.lookup(&request, earliest).await {
            Lookup::Hit(slots) => return Ok(Reply::Ok(Outcome::Slots { slots })),
            Lookup::Miss(key) => Some((cache, key)),
            Lookup::Unavailable => None,
        },
        None => None,
    };
    let service = calendar::service(db, org.id, request.service_type_id).await?;
    let mut search = Search::days(request.from, request.to);
    search.staff_id = request.staff_id;
    search.ignoring = request.moving;
    let slots: Vec<_> = calendar::free_slots(db, &org, &service, &search, now)
        .await?
        .into_iter()
        .map(free_slot)
        .collect();
    if let Some((cache, key)) = store_as {
        cache.put(&key, &slots).await;
    }
    Ok(Reply::Ok(Outcome::Slots { slots }))
}

/// When the business is open on a day (anyone of the organization may ask).
pub async fn opening_hours(
    scheduler: &Scheduler,
    request: OpeningHoursRequest,
) -> Result<Reply, Error> {
    let client = scheduler.pool.get().await?;
    let db: &deadpool_postgres::ClientWrapper = &client;
    let (_, org) = tokio::try_join!(
        authz::resolve(db, &request.actor),
        calendar::organization(db, request.actor.organization_id)
    )?;
    let ranges = calendar::opening(db, &org, request.day)
        .await?
        .into_iter()
        .map(|open| TimeRange {
            starts_at: open.start,
            ends_at: open.end,
        })
        .collect();
    Ok(Reply::Ok(Outcome::Opening { ranges }))
}

/// A staff member's agenda, or the whole business's, for local dates `from..=to`:
/// everything but cancelled appointments, in order.
pub async fn schedule(scheduler: &Scheduler, request: ScheduleRequest) -> Result<Reply, Error> {
    let mut client = scheduler.pool.get().await?;
    let tx = client.build_transaction().read_only(true).start().await?;
    let principal = authz::resolve(&tx, &request.actor).await?;
    if !principal.is_staff() || !principal.may_view_schedule(request.staff_id) {
        return Err(FORBIDDEN);
    }
    let org = calendar::organization(&tx, request.actor.organization_id).await?;
    let (start, end) = calendar::local_days(&org.time_zone, request.from, request.to)?;
    let rows = tx
        .rows(
            &format!(
                "SELECT {APPOINTMENT_COLUMNS} FROM appointments
                 WHERE organization_id = $1 AND status <> 'cancelled' AND starts_at < $3 AND ends_at > $2
                   AND ($4::uuid IS NULL OR staff_id = $4)
                 ORDER BY starts_at, staff_id"
            ),
            &[&org.id, &start, &end, &request.staff_id],
        )
        .await?;
    appointments(&rows)
}

/// A customer's live appointments from now on.
pub async fn upcoming(scheduler: &Scheduler, request: CustomerRequest) -> Result<Reply, Error> {
    customer_appointments(
        scheduler,
        request,
        "status IN ('pending', 'confirmed') AND starts_at >= $3 ORDER BY starts_at",
    )
    .await
}

/// A customer's past appointments, whatever became of them, newest first.
pub async fn history(scheduler: &Scheduler, request: CustomerRequest) -> Result<Reply, Error> {
    customer_appointments(
        scheduler,
        request,
        "starts_at < $3 ORDER BY starts_at DESC LIMIT 50",
    )
    .await
}

async fn customer_appointments(
    scheduler: &Scheduler,
    request: CustomerRequest,
    filter: &str,
) -> Result<Reply, Error> {
    let now = scheduler.now();
    let mut client = scheduler.pool.get().await?;
    let tx = client.build_transaction().read_only(true).start().await?;
    let principal = authz::resolve(&tx, &request.actor).await?;
    if !principal.may_view_customer(request.customer_id) {
        return Err(FORBIDDEN);
    }
    let rows = tx
        .rows(
            &format!(
                "SELECT {APPOINTMENT_COLUMNS} FROM appointments
                 WHERE organization_id = $1 AND customer_id = $2 AND {filter}"
            ),
            &[&request.actor.organization_id, &request.customer_id, &now],
        )
        .await?;
    appointments(&rows)
}

fn appointments(rows: &[tokio_postgres::Row]) -> Result<Reply, Error> {
    let appointments = rows
        .iter()
        .map(store::appointment)
        .collect::<Result<_, _>>()?;
    Ok(Reply::Ok(Outcome::Appointments { appointments }))
}
