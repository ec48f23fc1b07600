//! Handing a conversation to a person: the assistant goes silent there for the
//! organization's handoff time, and `conversation.handed_off` (written with the change)
//! tells the owner.

use cita_shared::db::Cached;
use cita_shared::{contracts::events::Event, error::Infra, outbox};
use deadpool_postgres::Pool;
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use crate::context::Business;

pub async fn hand_off(
    pool: &Pool,
    business: &Business,
    conversation_id: Uuid,
    reason: &str,
    now: Timestamp,
) -> Result<(), Infra> {
    let until = now + SignedDuration::from_mins(i64::from(business.handoff_minutes));
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .row(
            "UPDATE conversations v
             SET status = 'handed_off', handoff_reason = $3, handed_off_until = $4, updated_at = now()
             WHERE v.id = $1 AND v.organization_id = $2
             RETURNING v.wa_id, v.customer_id,
                       (SELECT c.name FROM customers c WHERE c.id = v.customer_id)",
            &[&conversation_id, &business.id, &reason, &until],
        )
        .await?;
    outbox::emit(
        &tx,
        business.id,
        now,
        Event::ConversationHandedOff {
            conversation_id,
            customer_id: row.get(1),
            wa_id: row.get(0),
            customer_name: row.get(2),
            reason: reason.to_owned(),
            until: Some(until),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
