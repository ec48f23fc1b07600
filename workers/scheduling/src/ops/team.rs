//! The owner's team: adding and removing members, their working hours and what they may
//! do. Owner only, whatever the caller claims.

use cita_shared::contracts::{
    events::Event,
    scheduling::{
        AddStaffRequest, DayHours, Outcome, RemoveStaffRequest, Reply, StaffHoursRequest,
        StaffMember, StaffPermissionsRequest, permissions,
    },
};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{Scheduler, business::check_day, writing};
use crate::{
    authz,
    error::Error,
    store::{self, Cached, Tx},
};

const STAFF_COLUMNS: &str = "s.id, s.name, s.phone, s.role = 'owner', s.active, s.permissions,
     ARRAY(SELECT service_type_id FROM staff_services x WHERE x.staff_id = s.id ORDER BY 1),
     (SELECT count(*)::int FROM appointments a WHERE a.staff_id = s.id
        AND a.status IN ('pending', 'confirmed') AND a.starts_at > now())";

fn staff_member(row: &Row) -> StaffMember {
    StaffMember {
        id: row.get(0),
        name: row.get(1),
        phone: row.get(2),
        owner: row.get(3),
        active: row.get(4),
        permissions: row.get(5),
        service_type_ids: row.get(6),
        upcoming_appointments: u32::try_from(row.get::<_, i32>(7)).unwrap_or(0),
    }
}

pub async fn add_staff(scheduler: &Scheduler, request: AddStaffRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            authz::owner(tx, &request.actor).await?;
            let name = request.name.trim();
            if name.is_empty() || name.chars().count() > 80 {
                return Err(Error::invalid(
                    "a staff member needs a name of 1 to 80 characters",
                ));
            }
            if !(8..=15).contains(&request.phone.len())
                || !request.phone.bytes().all(|b| b.is_ascii_digit())
                || request.phone.starts_with('0')
            {
                return Err(Error::invalid(
                    "the phone must be international digits (E.164)",
                ));
            }
            let service_type_ids = request.service_type_ids.clone().map(|mut ids| {
                ids.sort();
                ids.dedup();
                ids
            });
            // Checked before anything is written: a refusal is committed (it is remembered
            // under the key), so it must not leave half a member behind.
            if let Some(ids) = &service_type_ids {
                let known: i64 = tx
                    .row(
                        "SELECT count(*) FROM service_types WHERE organization_id = $1 AND active AND id = ANY($2)",
                        &[&org_id, ids],
                    )
                    .await?
                    .get(0);
                if known != ids.len() as i64 {
                    return Err(Error::not_found("one of the services"));
                }
            }
            let active = tx
                .maybe_row(
                    "SELECT active FROM staff WHERE organization_id = $1 AND phone = $2",
                    &[&org_id, &request.phone],
                )
                .await?;
            if active.is_some_and(|row| row.get::<_, bool>(0)) {
                return Err(Error::invalid("someone on the team already has that phone"));
            }
            // A removed member with the same phone comes back; otherwise a new row, at
            // the business's first location, working its opening hours.
            let id: Uuid = tx
                .row(
                    "INSERT INTO staff (organization_id, location_id, name, phone)
                     VALUES ($1, (SELECT id FROM locations WHERE organization_id = $1 ORDER BY created_at LIMIT 1), $2, $3)
                     ON CONFLICT (organization_id, phone) DO UPDATE SET name = EXCLUDED.name, active = true
                     RETURNING id",
                    &[&org_id, &name, &request.phone],
                )
                .await?
                .get(0);
            tx.run(
                "DELETE FROM staff_working_hours WHERE staff_id = $1",
                &[&id],
            )
            .await?;
            tx.run(
                "INSERT INTO staff_working_hours (organization_id, staff_id, weekday, starts_at, ends_at)
                 SELECT $1, $2, weekday, opens_at, closes_at FROM business_hours WHERE organization_id = $1",
                &[&org_id, &id],
            )
            .await?;
            tx.run("DELETE FROM staff_services WHERE staff_id = $1", &[&id])
                .await?;
            tx
                .run(
                    "INSERT INTO staff_services (organization_id, staff_id, service_type_id)
                     SELECT $1, $2, id FROM service_types
                     WHERE organization_id = $1 AND active AND ($3::uuid[] IS NULL OR id = ANY($3))",
                    &[&org_id, &id, &service_type_ids],
                )
                .await?;
            let row = tx
                .row(
                    &format!("SELECT {STAFF_COLUMNS} FROM staff s WHERE s.id = $1"),
                    &[&id],
                )
                .await?;
            let staff = staff_member(&row);
            store::emit(
                tx,
                org_id,
                now,
                Event::StaffAdded {
                    staff_id: staff.id,
                    name: staff.name.clone(),
                    actor: request.actor,
                },
            )
            .await?;
            Ok(Outcome::Staff { staff })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "add_staff", command)
        .await
}

pub async fn remove_staff(
    scheduler: &Scheduler,
    request: RemoveStaffRequest,
) -> Result<Reply, Error> {
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let me = authz::owner(tx, &request.actor).await?;
            if me == request.staff_id {
                return Err(Error::invalid("an owner cannot remove themselves"));
            }
            let row = tx
                .maybe_row(
                    &format!(
                        "WITH removed AS (UPDATE staff SET active = false
                                          WHERE organization_id = $1 AND id = $2 AND active RETURNING id)
                         SELECT {STAFF_COLUMNS} FROM staff s JOIN removed r ON r.id = s.id"
                    ),
                    &[&org_id, &request.staff_id],
                )
                .await?
                .ok_or_else(|| Error::not_found("active staff member"))?;
            let mut staff = staff_member(&row);
            staff.active = false;
            Ok(Outcome::Staff { staff })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "remove_staff", command)
        .await
}

/// Replaces a member's weekly hours; weekdays not given are days off.
pub async fn set_hours(scheduler: &Scheduler, request: StaffHoursRequest) -> Result<Reply, Error> {
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            authz::owner(tx, &request.actor).await?;
            let days = super::business::merge_days(&request.days);
            for day in &days {
                check_day(day)?;
            }
            active_member(tx, org_id, request.staff_id).await?;
            tx.run(
                "DELETE FROM staff_working_hours WHERE organization_id = $1 AND staff_id = $2",
                &[&org_id, &request.staff_id],
            )
            .await?;
            for day in &days {
                let weekday = i16::from(day.weekday);
                for interval in &day.intervals {
                    tx.run(
                        "INSERT INTO staff_working_hours (organization_id, staff_id, weekday, starts_at, ends_at)
                         VALUES ($1, $2, $3, $4, $5)",
                        &[&org_id, &request.staff_id, &weekday, &interval.opens, &interval.closes],
                    )
                    .await?;
                }
            }
            Ok(Outcome::Hours {
                days: week(tx, org_id, request.staff_id).await?,
            })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "set_staff_hours", command)
        .await
}

/// Every permission a member can be given.
const KNOWN_PERMISSIONS: [&str; 2] = [
    permissions::VIEW_BUSINESS_SCHEDULE,
    permissions::MANAGE_APPOINTMENTS,
];

pub async fn set_permissions(
    scheduler: &Scheduler,
    request: StaffPermissionsRequest,
) -> Result<Reply, Error> {
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            authz::owner(tx, &request.actor).await?;
            let mut granted = request.permissions.clone();
            granted.sort();
            granted.dedup();
            if let Some(unknown) = granted
                .iter()
                .find(|p| !KNOWN_PERMISSIONS.contains(&p.as_str()))
            {
                return Err(Error::invalid(format!(
                    "unknown permission {unknown:?}; known: {}",
                    KNOWN_PERMISSIONS.join(", ")
                )));
            }
            let row = tx
                .maybe_row(
                    &format!(
                        "WITH changed AS (UPDATE staff SET permissions = $3
                                          WHERE organization_id = $1 AND id = $2 AND active AND role <> 'owner'
                                          RETURNING id)
                         SELECT {STAFF_COLUMNS} FROM staff s JOIN changed c ON c.id = s.id"
                    ),
                    &[&org_id, &request.staff_id, &granted],
                )
                .await?;
            match row {
                Some(row) => {
                    let mut staff = staff_member(&row);
                    // The CTE's update is not visible to the outer SELECT of its statement.
                    staff.permissions = granted;
                    Ok(Outcome::Staff { staff })
                }
                None => {
                    active_member(tx, org_id, request.staff_id).await?;
                    Err(Error::invalid("an owner has every permission already"))
                }
            }
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "set_staff_permissions", command)
        .await
}

async fn active_member(tx: &Tx<'_>, org_id: Uuid, staff_id: Uuid) -> Result<(), Error> {
    tx.maybe_row(
        "SELECT 1 FROM staff WHERE organization_id = $1 AND id = $2 AND active",
        &[&org_id, &staff_id],
    )
    .await?
    .map(|_| ())
    .ok_or_else(|| Error::not_found("active staff member"))
}

/// A member's week, every weekday, as stored.
async fn week(tx: &impl Cached, org_id: Uuid, staff_id: Uuid) -> Result<Vec<DayHours>, Error> {
    let rows = tx
        .rows(
            "SELECT weekday, starts_at, ends_at FROM staff_working_hours
             WHERE organization_id = $1 AND staff_id = $2 ORDER BY weekday, starts_at",
            &[&org_id, &staff_id],
        )
        .await?;
    Ok(super::business::days_of(&rows))
}
