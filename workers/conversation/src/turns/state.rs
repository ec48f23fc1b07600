//! What a turn reads of the conversation before it decides what to do.

use std::time::Duration;

use cita_shared::db::Cached;
use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;

use crate::guided::flow::Flow;

pub struct State {
    pub handed_off: bool,
    pub ai_context: Value,
    /// The guided flow, unless there is none or it sat idle too long.
    pub guided: Option<Flow>,
    /// Inbound messages of the last minute, taps on options aside (the flood check:
    /// a guided booking is a dozen taps in a minute).
    pub recent_inbound: i64,
    pub flood_notice_at: Option<Timestamp>,
}

pub async fn load(
    client: &impl Cached,
    conversation_id: Uuid,
    now: Timestamp,
    guided_idle: Duration,
) -> Result<Option<State>, tokio_postgres::Error> {
    let row = client
        .maybe_row(
            "SELECT status = 'handed_off' AND (handed_off_until IS NULL OR handed_off_until > now()),
                    ai_context, flood_notice_at,
                    (SELECT count(*) FROM messages
                     WHERE conversation_id = $1 AND direction = 'inbound'
                       AND content_kind <> 'interactive'
                       AND created_at > now() - interval '1 minute'),
                    guided
             FROM conversations WHERE id = $1",
            &[&conversation_id],
        )
        .await?;
    Ok(row.map(|r| State {
        handed_off: r.get(0),
        ai_context: r.get(1),
        flood_notice_at: r.get(2),
        recent_inbound: r.get(3),
        guided: Flow::current(r.get::<_, Option<Value>>(4).as_ref(), now, guided_idle),
    }))
}
