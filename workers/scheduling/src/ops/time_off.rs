//! Blocking a staff member's time ("block 2 to 3 for lunch").

use cita_shared::contracts::scheduling::{BlockTimeRequest, Outcome, Reply};
use uuid::Uuid;

use super::{Scheduler, writing};
use crate::{
    authz,
    error::{Error, FORBIDDEN},
    store::Cached,
};

/// The longest block one request may create.
const MAX_BLOCK_DAYS: i64 = 62;

pub async fn block(scheduler: &Scheduler, request: BlockTimeRequest) -> Result<Reply, Error> {
    let org_id = request.actor.organization_id;
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
            Ok(Outcome::Blocked { block_id })
        })
    });
    scheduler
        .once(org_id, &key, &fingerprint, "block_time", command)
        .await
}
