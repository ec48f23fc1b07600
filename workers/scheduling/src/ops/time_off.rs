//! Time nobody can book: a staff member's block ("block 2 to 3 for lunch"), their days
//! off, and the business's closures and holidays; and taking any of them away.

use cita_shared::contracts::{
    events::Event,
    scheduling::{
        Actor, AddClosureRequest, BlockTimeRequest, Outcome, RemoveTimeOffRequest, Reply, TimeOff,
        TimeOffKind,
    },
};
use jiff::Timestamp;
use uuid::Uuid;

use super::{Scheduler, writing};
use crate::{
    authz::{self, Principal},
    calendar,
    error::{Error, FORBIDDEN},
    store::{self, Cached, Tx},
};

/// The longest block one request may create.
const MAX_BLOCK_DAYS: i64 = 62;
/// The longest closure or time off one request may create.
const MAX_CLOSURE_DAYS: i32 = 366;

pub async fn block(scheduler: &Scheduler, request: BlockTimeRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let principal = authz::resolve(tx, &request.actor).await?;
            if !principal.may_act_for_staff(request.staff_id) {
                return Err(FORBIDDEN);
            }
            if request.ends_at <= request.starts_at {
                return Err(Error::invalid("a block must end after it starts"));
            }
            if request.ends_at.duration_since(request.starts_at)
                > jiff::SignedDuration::from_hours(24 * MAX_BLOCK_DAYS)
            {
                return Err(Error::invalid(format!(
                    "a block may last at most {MAX_BLOCK_DAYS} days"
                )));
            }
            let row = tx
            .maybe_row(
                "INSERT INTO availability_exceptions (organization_id, staff_id, kind, during, reason)
                 SELECT $1, id, 'block', tstzrange($3, $4), $5 FROM staff
                 WHERE organization_id = $1 AND id = $2 AND active
                 RETURNING id",
                &[&org_id, &request.staff_id, &request.starts_at, &request.ends_at, &request.reason],
            )
            .await?
            .ok_or_else(|| Error::not_found("staff member"))?;
            let block_id: Uuid = row.get(0);
            let time_off = TimeOff {
                id: block_id,
                staff_id: Some(request.staff_id),
                kind: TimeOffKind::Block,
                starts_at: request.starts_at,
                ends_at: request.ends_at,
                reason: request.reason.clone(),
            };
            changed(tx, request.actor, time_off, false, now).await?;
            Ok(Outcome::Blocked { block_id })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "block_time", command)
        .await
}

/// Whole local days off for the business or one member. Appointments already inside stay
/// (the reply counts them): cancelling them is a decision the owner makes one by one.
pub async fn add_closure(
    scheduler: &Scheduler,
    request: AddClosureRequest,
) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let principal = authz::resolve(tx, &request.actor).await?;
            may_manage(&principal, request.staff_id)?;
            if request.kind == TimeOffKind::Block {
                return Err(Error::invalid(
                    "a block is part of a day: make it with block_time",
                ));
            }
            if request.to < request.from {
                return Err(Error::invalid("the days end before they start"));
            }
            if request
                .from
                .until(request.to)
                .map_or(true, |span| span.get_days() >= MAX_CLOSURE_DAYS)
            {
                return Err(Error::invalid(format!(
                    "at most {MAX_CLOSURE_DAYS} days at once"
                )));
            }
            let org = calendar::organization(tx, org_id).await?;
            if request.to < calendar::local_date(&org.time_zone, now) {
                return Err(Error::invalid("those days are already over"));
            }
            let (starts_at, ends_at) =
                calendar::local_days(&org.time_zone, request.from, request.to)?;
            let row = tx
                .maybe_row(
                    "INSERT INTO availability_exceptions (organization_id, staff_id, kind, during, reason)
                     SELECT $1, $2, $3, tstzrange($4, $5), $6
                     WHERE $2::uuid IS NULL
                        OR EXISTS (SELECT 1 FROM staff WHERE organization_id = $1 AND id = $2 AND active)
                     RETURNING id",
                    &[&org_id, &request.staff_id, &request.kind.as_str(), &starts_at, &ends_at, &request.reason],
                )
                .await?
                .ok_or_else(|| Error::not_found("staff member"))?;
            let live: i64 = tx
                .row(
                    "SELECT count(*) FROM appointments
                     WHERE organization_id = $1 AND ($2::uuid IS NULL OR staff_id = $2)
                       AND status IN ('pending', 'confirmed')
                       AND tstzrange(starts_at, ends_at) && tstzrange($3, $4)",
                    &[&org_id, &request.staff_id, &starts_at, &ends_at],
                )
                .await?
                .get(0);
            let time_off = TimeOff {
                id: row.get(0),
                staff_id: request.staff_id,
                kind: request.kind,
                starts_at,
                ends_at,
                reason: request.reason.clone(),
            };
            changed(tx, request.actor, time_off.clone(), false, now).await?;
            Ok(Outcome::TimeOff {
                time_off,
                live_appointments: u32::try_from(live).unwrap_or(u32::MAX),
            })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "add_closure", command)
        .await
}

/// Takes away a block, days off, a closure or a holiday, under the rules that made it.
pub async fn remove(scheduler: &Scheduler, request: RemoveTimeOffRequest) -> Result<Reply, Error> {
    let now = scheduler.now();
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            let principal = authz::resolve(tx, &request.actor).await?;
            let found = time_off_for_update(tx, org_id, request.time_off_id).await?;
            may_manage(&principal, found.staff_id)?;
            tx.run(
                "DELETE FROM availability_exceptions WHERE id = $1",
                &[&found.id],
            )
            .await?;
            let id = found.id;
            changed(tx, request.actor, found, true, now).await?;
            Ok(Outcome::Removed { id })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "remove_time_off", command)
        .await
}

/// The business's time is the owner's; a member's is theirs, or of whoever manages others.
fn may_manage(principal: &Principal, staff_id: Option<Uuid>) -> Result<(), Error> {
    let allowed = match (principal, staff_id) {
        (Principal::Staff { owner, .. }, None) => *owner,
        (_, Some(staff_id)) => principal.may_act_for_staff(staff_id),
        (Principal::Customer { .. }, None) => false,
    };
    if allowed { Ok(()) } else { Err(FORBIDDEN) }
}

async fn time_off_for_update(tx: &Tx<'_>, org_id: Uuid, id: Uuid) -> Result<TimeOff, Error> {
    let row = tx
        .maybe_row(
            "SELECT id, staff_id, kind, lower(during), upper(during), reason
             FROM availability_exceptions WHERE organization_id = $1 AND id = $2 FOR UPDATE",
            &[&org_id, &id],
        )
        .await?
        .ok_or_else(|| Error::not_found("time off"))?;
    let kind: String = row.get(2);
    Ok(TimeOff {
        id: row.get(0),
        staff_id: row.get(1),
        kind: TimeOffKind::parse(&kind)
            .ok_or_else(|| Error::Corrupt(format!("time off kind {kind:?}")))?,
        starts_at: row.get::<_, Timestamp>(3),
        ends_at: row.get(4),
        reason: row.get(5),
    })
}

/// Tells the rest of the fleet (the dashboards' live streams) what changed.
async fn changed(
    tx: &Tx<'_>,
    actor: Actor,
    time_off: TimeOff,
    removed: bool,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    let event = Event::TimeOffChanged {
        time_off,
        removed,
        actor,
    };
    store::emit(tx, actor.organization_id, now, event).await
}
