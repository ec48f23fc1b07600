//! The owner's changes to the business itself: opening hours, services, and the figures
//! they look at. Owner only, whatever the caller claims.

use cita_shared::contracts::scheduling::{
    Approval, BusinessHoursRequest, DayHours, DepositPolicy, Figures, FiguresRequest, HourCount,
    Interval, Outcome, Reply, ServiceCount, ServiceType, UpsertServiceRequest,
};
use jiff::civil::Time;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{Scheduler, writing};
use crate::{authz::owner, calendar, error::Error, store::Cached};

pub async fn set_hours(
    scheduler: &Scheduler,
    request: BusinessHoursRequest,
) -> Result<Reply, Error> {
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            owner(tx, &request.actor).await?;
            if request.days.is_empty() {
                return Err(Error::invalid("no days given"));
            }
            let days = merge_days(&request.days);
            for day in &days {
                check_day(day)?;
            }
            let location: Uuid = tx
                .maybe_row(
                    "SELECT id FROM locations WHERE organization_id = $1 ORDER BY created_at LIMIT 1",
                    &[&org_id],
                )
                .await?
                .ok_or_else(|| Error::not_found("location"))?
                .get(0);
            for day in &days {
                let weekday = i16::from(day.weekday);
                tx.run(
                    "DELETE FROM business_hours WHERE organization_id = $1 AND weekday = $2",
                    &[&org_id, &weekday],
                )
                .await?;
                for interval in &day.intervals {
                    tx.run(
                        "INSERT INTO business_hours (organization_id, location_id, weekday, opens_at, closes_at)
                         VALUES ($1, $2, $3, $4, $5)",
                        &[&org_id, &location, &weekday, &interval.opens, &interval.closes],
                    )
                    .await?;
                }
            }
            Ok(Outcome::Hours {
                days: week(tx, org_id).await?,
            })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "set_business_hours", command)
        .await
}

/// A weekday given twice (its morning and its afternoon apart) is one day.
pub(super) fn merge_days(given: &[DayHours]) -> Vec<DayHours> {
    let mut days: Vec<DayHours> = Vec::new();
    for day in given {
        match days.iter_mut().find(|d| d.weekday == day.weekday) {
            Some(same) => same.intervals.extend(day.intervals.iter().copied()),
            None => days.push(day.clone()),
        }
    }
    days
}

pub(super) fn check_day(day: &DayHours) -> Result<(), Error> {
    if !(1..=7).contains(&day.weekday) {
        return Err(Error::invalid("weekdays go from 1 (Monday) to 7 (Sunday)"));
    }
    let mut intervals = day.intervals.clone();
    intervals.sort_by_key(|i| i.opens);
    for interval in &intervals {
        if interval.opens >= interval.closes {
            return Err(Error::invalid("an interval must close after it opens"));
        }
    }
    if intervals.windows(2).any(|w| w[1].opens < w[0].closes) {
        return Err(Error::invalid("the intervals of a day overlap"));
    }
    Ok(())
}

async fn week(tx: &impl Cached, org_id: Uuid) -> Result<Vec<DayHours>, Error> {
    let rows = tx
        .rows(
            "SELECT weekday, opens_at, closes_at FROM business_hours
             WHERE organization_id = $1 ORDER BY weekday, opens_at",
            &[&org_id],
        )
        .await?;
    Ok(days_of(&rows))
}

/// Rows of (weekday, from, to), ordered, as every weekday of a week.
pub(super) fn days_of(rows: &[Row]) -> Vec<DayHours> {
    (1..=7u8)
        .map(|weekday| DayHours {
            weekday,
            intervals: rows
                .iter()
                .filter(|r| r.get::<_, i16>(0) == i16::from(weekday))
                .map(|r| Interval {
                    opens: r.get::<_, Time>(1),
                    closes: r.get::<_, Time>(2),
                })
                .collect(),
        })
        .collect()
}

const SERVICE_COLUMNS: &str = "id, name, description, duration_minutes, price_minor, currency, \
     active, buffer_minutes, approval_required, change_cutoff_minutes, deposit_kind, deposit_value";

pub async fn upsert_service(
    scheduler: &Scheduler,
    request: UpsertServiceRequest,
) -> Result<Reply, Error> {
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            owner(tx, &request.actor).await?;
            let name = request.name.as_deref().map(str::trim);
            if name.is_some_and(|n| n.is_empty() || n.chars().count() > 80) {
                return Err(Error::invalid("a service name has 1 to 80 characters"));
            }
            let duration = request
                .duration_minutes
                .map(|d| {
                    (5..=720)
                        .contains(&d)
                        .then_some(d as i32)
                        .ok_or_else(|| Error::invalid("a duration is 5 to 720 minutes"))
                })
                .transpose()?;
            let buffer = request
                .buffer_minutes
                .map(|b| {
                    (b <= 240)
                        .then_some(b as i32)
                        .ok_or_else(|| Error::invalid("a buffer is 0 to 240 minutes"))
                })
                .transpose()?;
            if request.price_minor.is_some_and(|p| p < 0) {
                return Err(Error::invalid("a price cannot be negative"));
            }
            let approval = request.approval.and_then(Approval::required);
            let cutoff = match request.change_cutoff_minutes {
                Some(Some(minutes)) if minutes > super::settings::WEEK_MINUTES => {
                    return Err(Error::invalid(format!(
                        "a change cutoff is 0 to {} minutes",
                        super::settings::WEEK_MINUTES
                    )));
                }
                minutes => minutes.map(|m| m.map(|m| m as i32)),
            };
            if let Some(Some(policy)) = request.deposit {
                super::settings::check_deposit(tx, org_id, policy).await?;
            }
            let deposit = request
                .deposit
                .map(|policy| policy.map(DepositPolicy::columns).unzip());
            let performers = request.staff_ids.clone().map(|mut ids| {
                ids.sort();
                ids.dedup();
                ids
            });
            if let Some(ids) = &performers {
                let known: i64 = tx
                    .row(
                        "SELECT count(*) FROM staff WHERE organization_id = $1 AND active AND id = ANY($2)",
                        &[&org_id, ids],
                    )
                    .await?
                    .get(0);
                if known != ids.len() as i64 {
                    return Err(Error::not_found("one of the staff members"));
                }
            }
            // Checked first: a unique violation would abort the transaction the reply is
            // remembered in (two owners racing on one name get `unavailable`, and retry).
            if let Some(name) = name
                && tx
                    .maybe_row(
                        "SELECT 1 FROM service_types
                         WHERE organization_id = $1 AND name = $2 AND id IS DISTINCT FROM $3",
                        &[&org_id, &name, &request.service_type_id],
                    )
                    .await?
                    .is_some()
            {
                return Err(Error::invalid("another service already has that name"));
            }
            let row = match request.service_type_id {
                Some(id) => tx
                    .maybe_row(
                        &format!("UPDATE service_types SET name = COALESCE($3, name),
                                description = COALESCE($4, description),
                                duration_minutes = COALESCE($5, duration_minutes),
                                price_minor = COALESCE($6, price_minor),
                                active = COALESCE($7, active),
                                buffer_minutes = COALESCE($8, buffer_minutes),
                                approval_required = CASE WHEN $9 THEN $10 ELSE approval_required END,
                                change_cutoff_minutes = CASE WHEN $11 THEN $12 ELSE change_cutoff_minutes END,
                                deposit_kind = CASE WHEN $13 THEN $14 ELSE deposit_kind END,
                                deposit_value = CASE WHEN $13 THEN $15 ELSE deposit_value END
                         WHERE organization_id = $1 AND id = $2
                         RETURNING {SERVICE_COLUMNS}"),
                        &[&org_id, &id, &name, &request.description, &duration, &request.price_minor, &request.active, &buffer, &request.approval.is_some(), &approval, &cutoff.is_some(), &cutoff.flatten(),
                          &deposit.is_some(), &deposit.and_then(|d| d.0), &deposit.and_then(|d| d.1)],
                    )
                    .await?
                    .ok_or_else(|| Error::not_found("service"))?,
                None => {
                    let (Some(name), Some(duration), Some(price)) = (name, duration, request.price_minor) else {
                        return Err(Error::invalid("a new service needs a name, a duration and a price"));
                    };
                    let row = tx
                        .row(
                            &format!("INSERT INTO service_types (organization_id, name, description, duration_minutes,
                                                        price_minor, currency, active, buffer_minutes, approval_required,
                                                        change_cutoff_minutes, deposit_kind, deposit_value)
                             SELECT $1, $2, $3, $4, $5, currency, COALESCE($6, true), COALESCE($7, 0), $8, $9,
                                    $10, $11
                             FROM organizations WHERE id = $1
                             RETURNING {SERVICE_COLUMNS}"),
                            &[&org_id, &name, &request.description, &duration, &price, &request.active, &buffer, &approval, &cutoff.flatten(),
                              &deposit.and_then(|d| d.0), &deposit.and_then(|d| d.1)],
                        )
                        .await?;
                    // Everyone active performs a new service unless the owner said who.
                    if performers.is_none() {
                        tx.run(
                            "INSERT INTO staff_services (organization_id, staff_id, service_type_id)
                             SELECT $1, id, $2 FROM staff WHERE organization_id = $1 AND active",
                            &[&org_id, &row.get::<_, Uuid>(0)],
                        )
                        .await?;
                    }
                    row
                }
            };
            if let Some(ids) = &performers {
                let service: Uuid = row.get(0);
                tx.run(
                    "DELETE FROM staff_services WHERE organization_id = $1 AND service_type_id = $2",
                    &[&org_id, &service],
                )
                .await?;
                tx.run(
                    "INSERT INTO staff_services (organization_id, staff_id, service_type_id)
                     SELECT $1, unnest($3::uuid[]), $2",
                    &[&org_id, &service, ids],
                )
                .await?;
            }
            Ok(Outcome::Service {
                service: ServiceType {
                    id: row.get(0),
                    name: row.get(1),
                    description: row.get(2),
                    duration_minutes: u32::try_from(row.get::<_, i32>(3)).unwrap_or(0),
                    buffer_minutes: u32::try_from(row.get::<_, i32>(7)).unwrap_or(0),
                    price_minor: row.get(4),
                    currency: row.get::<_, String>(5).trim().to_owned(),
                    active: row.get(6),
                    approval: Approval::from_required(row.get(8)),
                    change_cutoff_minutes: row
                        .get::<_, Option<i32>>(9)
                        .map(|m| u32::try_from(m).unwrap_or(0)),
                    deposit: row.get::<_, Option<&str>>(10).and_then(|kind| {
                        DepositPolicy::from_columns(
                            kind,
                            row.get::<_, Option<i64>>(11).unwrap_or(0),
                        )
                    }),
                },
            })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "upsert_service", command)
        .await
}

pub async fn figures(scheduler: &Scheduler, request: FiguresRequest) -> Result<Reply, Error> {
    let mut client = scheduler.pool.get().await?;
    let tx = client.build_transaction().read_only(true).start().await?;
    owner(&tx, &request.actor).await?;
    if request.to < request.from {
        return Err(Error::invalid("the range ends before it starts"));
    }
    let org = calendar::organization(&tx, request.actor.organization_id).await?;
    let (start, end) = calendar::local_days(&org.time_zone, request.from, request.to)?;
    let zone = org.time_zone.iana_name().unwrap_or("UTC").to_owned();
    let totals = tx
        .row(
            "SELECT count(*)::int,
                    count(*) FILTER (WHERE a.status = 'completed')::int,
                    count(*) FILTER (WHERE a.status = 'no_show')::int,
                    count(*) FILTER (WHERE a.status = 'cancelled')::int,
                    COALESCE(sum(COALESCE(a.price_minor, s.price_minor)) FILTER (WHERE a.status = 'completed'), 0)::bigint,
                    (SELECT currency FROM organizations WHERE id = $1)
             FROM appointments a JOIN service_types s ON s.id = a.service_type_id
             WHERE a.organization_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3",
            &[&org.id, &start, &end],
        )
        .await?;
    let hours = tx
        .rows(
            "SELECT extract(hour FROM starts_at AT TIME ZONE $4)::int AS hour, count(*)::int AS n
             FROM appointments
             WHERE organization_id = $1 AND starts_at >= $2 AND starts_at < $3 AND status <> 'cancelled'
             GROUP BY hour ORDER BY n DESC, hour LIMIT 3",
            &[&org.id, &start, &end, &zone],
        )
        .await?;
    let services = tx
        .rows(
            "SELECT service_type_id, count(*)::int AS n FROM appointments
             WHERE organization_id = $1 AND starts_at >= $2 AND starts_at < $3 AND status <> 'cancelled'
             GROUP BY service_type_id ORDER BY n DESC, service_type_id",
            &[&org.id, &start, &end],
        )
        .await?;
    let count = |row: &Row, i: usize| u32::try_from(row.get::<_, i32>(i)).unwrap_or(0);
    Ok(Reply::Ok(Outcome::Figures {
        figures: Figures {
            appointments: count(&totals, 0),
            completed: count(&totals, 1),
            no_shows: count(&totals, 2),
            cancelled: count(&totals, 3),
            revenue_minor: totals.get(4),
            currency: totals.get::<_, String>(5).trim().to_owned(),
            busiest_hours: hours
                .iter()
                .map(|r| HourCount {
                    hour: u8::try_from(r.get::<_, i32>(0)).unwrap_or(0),
                    appointments: count(r, 1),
                })
                .collect(),
            by_service: services
                .iter()
                .map(|r| ServiceCount {
                    service_type_id: r.get(0),
                    appointments: count(r, 1),
                })
                .collect(),
        },
    }))
}
