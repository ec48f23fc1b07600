//! Too many messages from one person in a minute: answered once, politely, without
//! the model, and marked `flood`.

use cita_shared::db::Cached;
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::{TurnError, Turns, state::State};
use cita_shared::spanish::Words;

use crate::{
    answer::{Pending, Sender, pending},
    context::Person,
};

/// Where a fixed reply of the turn goes.
pub struct At<'a> {
    pub words: &'static dyn Words,
    pub client: &'a deadpool_postgres::Client,
    pub sender: &'a Sender<'a>,
    pub person: &'a Person,
    pub conversation_id: Uuid,
    pub now: Timestamp,
}

/// Whether the waiting messages were a flood (and are answered now).
pub async fn answered(
    turns: &Turns,
    at: &At<'_>,
    state: &State,
    waiting: &[Pending],
) -> Result<bool, TurnError> {
    if state.recent_inbound <= i64::from(turns.settings.flood_messages_per_minute) {
        return Ok(false);
    }
    let noticed = state
        .flood_notice_at
        .is_some_and(|notice| at.now.duration_since(notice) < SignedDuration::from_mins(10));
    if !noticed {
        at.sender
            .text(
                &format!("flood:{}", waiting[0].wamid),
                &at.person.wa_id,
                at.conversation_id,
                at.words.flood(),
            )
            .await?;
        at.client
            .run(
                "UPDATE conversations SET flood_notice_at = $2 WHERE id = $1",
                &[&at.conversation_id, &at.now],
            )
            .await?;
    }
    let ids: Vec<Uuid> = waiting.iter().map(|m| m.id).collect();
    pending::mark(at.client, &ids, "flood").await?;
    turns.metrics.turn("flood");
    Ok(true)
}
