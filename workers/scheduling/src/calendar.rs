//! Loads what the engine needs from PostgreSQL and runs it: the organization's rules and
//! hours, the resources that perform a service, and who is busy when.

use cita_shared::contracts::scheduling::DepositPolicy;
use jiff::{
    SignedDuration, Timestamp, ToSpan,
    civil::{Date, Time},
    tz::TimeZone,
};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::{
    engine::{self, Business, Interval, LocalHours, Query, Resource, Slot, Week},
    error::Error,
    store::Cached,
};

/// An organization's booking rules.
#[derive(Debug, Clone)]
pub struct Organization {
    pub id: Uuid,
    pub time_zone: TimeZone,
    pub free_plan: bool,
    pub step: SignedDuration,
    pub min_notice: SignedDuration,
    pub horizon: SignedDuration,
    /// Customers' bookings wait for approval, unless their service says otherwise.
    pub approval_required: bool,
    /// How long a hold waits for approval (or its deposit).
    pub hold: SignedDuration,
    pub deposit: DepositPolicy,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub id: Uuid,
    pub duration: SignedDuration,
    pub buffer: SignedDuration,
    /// `Some`: the service's own approval policy, over the organization's.
    pub approval_required: Option<bool>,
    /// `Some`: the service's own deposit policy, over the organization's.
    pub deposit: Option<DepositPolicy>,
    pub price_minor: i64,
    pub currency: String,
}

impl Service {
    pub fn buffer_minutes(&self) -> i32 {
        i32::try_from(self.buffer.as_mins()).unwrap_or(i32::MAX)
    }
}

pub async fn organization(tx: &impl Cached, id: Uuid) -> Result<Organization, Error> {
    let row = tx
        .maybe_row(
            "SELECT timezone, plan = 'free', slot_step_minutes, min_notice_minutes, horizon_days,
                    approval_required, hold_minutes, deposit_kind, deposit_value
             FROM organizations WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or_else(|| Error::not_found("organization"))?;
    let zone: String = row.get(0);
    let time_zone = TimeZone::get(&zone)
        .map_err(|e| Error::Corrupt(format!("organization {id} has time zone {zone:?}: {e}")))?;
    Ok(Organization {
        id,
        time_zone,
        free_plan: row.get(1),
        step: SignedDuration::from_mins(i64::from(row.get::<_, i32>(2))),
        min_notice: SignedDuration::from_mins(i64::from(row.get::<_, i32>(3))),
        horizon: SignedDuration::from_hours(24 * i64::from(row.get::<_, i32>(4))),
        approval_required: row.get(5),
        hold: SignedDuration::from_mins(i64::from(row.get::<_, i32>(6))),
        deposit: DepositPolicy::from_columns(row.get(7), row.get(8))
            .ok_or_else(|| Error::Corrupt(format!("organization {id} has a bad deposit policy")))?,
    })
}

/// An active service of the organization.
pub async fn service(tx: &impl Cached, organization_id: Uuid, id: Uuid) -> Result<Service, Error> {
    let row = tx
        .maybe_row(
            "SELECT duration_minutes, buffer_minutes, approval_required, deposit_kind, deposit_value,
                    price_minor, currency
             FROM service_types WHERE organization_id = $1 AND id = $2 AND active",
            &[&organization_id, &id],
        )
        .await?
        .ok_or_else(|| Error::not_found("service"))?;
    Ok(Service {
        id,
        duration: SignedDuration::from_mins(i64::from(row.get::<_, i32>(0))),
        buffer: SignedDuration::from_mins(i64::from(row.get::<_, i32>(1))),
        approval_required: row.get(2),
        deposit: row.get::<_, Option<&str>>(3).and_then(|kind| {
            DepositPolicy::from_columns(kind, row.get::<_, Option<i64>>(4).unwrap_or(0))
        }),
        price_minor: row.get(5),
        currency: row.get::<_, String>(6).trim().to_owned(),
    })
}

/// How long before an appointment of this service customers stop changing it: the
/// service's own cutoff, or the business's. Retired services keep theirs.
pub async fn change_cutoff(
    tx: &impl Cached,
    organization_id: Uuid,
    service_type_id: Uuid,
) -> Result<SignedDuration, Error> {
    let minutes: i32 = tx
        .row(
            "SELECT COALESCE(s.change_cutoff_minutes, o.change_cutoff_minutes)
             FROM service_types s JOIN organizations o ON o.id = s.organization_id
             WHERE s.organization_id = $1 AND s.id = $2",
            &[&organization_id, &service_type_id],
        )
        .await?
        .get(0);
    Ok(SignedDuration::from_mins(i64::from(minutes)))
}

/// What to compute free slots for.
pub struct Search {
    pub from: Date,
    pub to: Date,
    /// Only this staff member, or anyone who performs the service.
    pub staff_id: Option<Uuid>,
    /// An appointment being moved does not block its own new time.
    pub ignoring: Option<Uuid>,
    /// Leave appointments out entirely (to tell "taken" from "never bookable").
    pub without_appointments: bool,
    /// Overrides the organization's minimum notice (walk-ins start now).
    pub min_notice: Option<SignedDuration>,
}

impl Search {
    pub fn days(from: Date, to: Date) -> Self {
        Search {
            from,
            to,
            staff_id: None,
            ignoring: None,
            without_appointments: false,
            min_notice: None,
        }
    }
}

/// Free start times for `service`, read inside `tx` so that a booking decides on what it sees.
pub async fn free_slots(
    tx: &impl Cached,
    org: &Organization,
    service: &Service,
    search: &Search,
    now: Timestamp,
) -> Result<Vec<Slot>, Error> {
    let inputs = inputs(tx, org, service, search, now).await?;
    engine::free_slots(&inputs.business, &inputs.resources, &inputs.query)
        .map_err(|e| Error::invalid(e.to_string()))
}

/// What the engine needs for a search.
pub struct Inputs {
    pub business: Business,
    pub resources: Vec<Resource>,
    pub query: Query,
}

/// Reads the engine's inputs for a search.
pub async fn inputs(
    tx: &impl Cached,
    org: &Organization,
    service: &Service,
    search: &Search,
    now: Timestamp,
) -> Result<Inputs, Error> {
    let window = Interval {
        start: local_midnight(&org.time_zone, search.from)?,
        end: local_midnight(
            &org.time_zone,
            search.to.checked_add(1.day()).map_err(time)?,
        )?,
    };
    // The five reads are independent, so they go out together: tokio-postgres pipelines
    // queries issued concurrently on one connection, one round trip instead of five.
    const ELIGIBLE_STAFF: &str =
        "SELECT s.id FROM staff s JOIN staff_services ss ON ss.staff_id = s.id
         WHERE s.organization_id = $1 AND ss.service_type_id = $2 AND s.active
           AND ($3::uuid IS NULL OR s.id = $3)";
    let staff_query = format!("{ELIGIBLE_STAFF} ORDER BY s.created_at, s.id");
    let hours_query = format!(
        "SELECT staff_id, weekday, starts_at, ends_at FROM staff_working_hours WHERE staff_id IN ({ELIGIBLE_STAFF})"
    );
    let busy_query = format!(
        "SELECT staff_id, starts_at, occupied_until FROM appointments
         WHERE staff_id IN ({ELIGIBLE_STAFF}) AND status IN ('pending', 'confirmed') AND NOT $7
           AND tstzrange(starts_at, occupied_until) && tstzrange($4, $5)
           AND ($6::uuid IS NULL OR id <> $6)
         UNION ALL
         SELECT staff_id, lower(during), upper(during) FROM availability_exceptions
         WHERE staff_id IN ({ELIGIBLE_STAFF}) AND during && tstzrange($4, $5)"
    );
    let by_org: [&(dyn ToSql + Sync); 1] = [&org.id];
    let by_window: [&(dyn ToSql + Sync); 3] = [&org.id, &window.start, &window.end];
    let by_staff: [&(dyn ToSql + Sync); 3] = [&org.id, &service.id, &search.staff_id];
    let by_staff_and_window: [&(dyn ToSql + Sync); 7] = [
        &org.id,
        &service.id,
        &search.staff_id,
        &window.start,
        &window.end,
        &search.ignoring,
        &search.without_appointments,
    ];
    let (opening, closures, staff_rows, hours, busy) = tokio::try_join!(
        tx.rows(BUSINESS_HOURS, &by_org),
        tx.rows(CLOSURES, &by_window),
        tx.rows(&staff_query, &by_staff),
        tx.rows(&hours_query, &by_staff),
        tx.rows(&busy_query, &by_staff_and_window),
    )?;
    let business = business(org, &opening, &closures, search.min_notice);
    let staff_ids: Vec<Uuid> = staff_rows.iter().map(|row| row.get(0)).collect();

    let resources: Vec<Resource> = staff_ids
        .iter()
        .map(|id| Resource {
            id: *id,
            working_hours: week(hours.iter().filter(|row| row.get::<_, Uuid>(0) == *id).map(
                |row| {
                    (
                        row.get::<_, i16>(1),
                        row.get::<_, Time>(2),
                        row.get::<_, Time>(3),
                    )
                },
            )),
            busy: busy
                .iter()
                .filter(|row| row.get::<_, Uuid>(0) == *id)
                .map(|row| Interval {
                    start: row.get(1),
                    end: row.get(2),
                })
                .collect(),
        })
        .collect();

    let query = Query {
        duration: service.duration,
        buffer: service.buffer,
        from: search.from,
        to: search.to,
        now,
    };
    Ok(Inputs {
        business,
        resources,
        query,
    })
}

const BUSINESS_HOURS: &str =
    "SELECT weekday, opens_at, closes_at FROM business_hours WHERE organization_id = $1";
const CLOSURES: &str = "SELECT lower(during), upper(during) FROM availability_exceptions
     WHERE organization_id = $1 AND staff_id IS NULL AND during && tstzrange($2, $3)";

/// The business as the engine sees it, from its hours and the closures in a window.
fn business(
    org: &Organization,
    opening: &[tokio_postgres::Row],
    closures: &[tokio_postgres::Row],
    min_notice: Option<jiff::SignedDuration>,
) -> Business {
    Business {
        time_zone: org.time_zone.clone(),
        opening_hours: week(
            opening
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2))),
        ),
        closures: closures
            .iter()
            .map(|row| Interval {
                start: row.get(0),
                end: row.get(1),
            })
            .collect(),
        min_notice: min_notice.unwrap_or(org.min_notice),
        horizon: org.horizon,
        step: org.step,
    }
}

/// When the business is open on local day `day`, closures taken out.
pub async fn opening(
    tx: &impl Cached,
    org: &Organization,
    day: Date,
) -> Result<Vec<Interval>, Error> {
    let (start, end) = local_days(&org.time_zone, day, day)?;
    let by_org: [&(dyn ToSql + Sync); 1] = [&org.id];
    let by_window: [&(dyn ToSql + Sync); 3] = [&org.id, &start, &end];
    let (opening, closures) = tokio::try_join!(
        tx.rows(BUSINESS_HOURS, &by_org),
        tx.rows(CLOSURES, &by_window)
    )?;
    let business = business(org, &opening, &closures, None);
    engine::open(&business, day).map_err(|e| Error::invalid(e.to_string()))
}

/// Weekly hours from rows of (ISO weekday, start, end).
fn week(rows: impl IntoIterator<Item = (i16, Time, Time)>) -> Week {
    let mut week: Week = Default::default();
    for (weekday, start, end) in rows {
        if let Some(day) = usize::try_from(weekday - 1)
            .ok()
            .and_then(|i| week.get_mut(i))
        {
            day.push(LocalHours { start, end });
        }
    }
    week
}

/// The instants from the start of local day `from` to the start of the day after `to`.
pub fn local_days(zone: &TimeZone, from: Date, to: Date) -> Result<(Timestamp, Timestamp), Error> {
    let after = to
        .checked_add(jiff::Span::new().days(1))
        .map_err(|e| Error::invalid(e.to_string()))?;
    Ok((local_midnight(zone, from)?, local_midnight(zone, after)?))
}

pub fn local_midnight(zone: &TimeZone, date: Date) -> Result<Timestamp, Error> {
    Ok(date
        .to_zoned(zone.clone())
        .map_err(time)?
        .start_of_day()
        .map_err(time)?
        .timestamp())
}

pub fn local_date(zone: &TimeZone, at: Timestamp) -> Date {
    at.to_zoned(zone.clone()).date()
}

fn time(error: jiff::Error) -> Error {
    Error::invalid(error.to_string())
}
