//! The one way an answer is committed, for the AI and guided mode alike: lock the
//! conversation (checking the lease is still ours), drop the answer if a person took
//! the conversation over meanwhile, publish the replies, mark the messages answered,
//! save what the answerer remembers, and give the lease up with the same commit when
//! nothing else is waiting.
//!
//! The row stays locked while the replies are published, so a takeover (an owner's
//! reply) lands either before — and the answer is dropped — or after it. Replies are
//! published before the commit: a crash in between answers the messages again with the
//! same command ids, which outbound sends once.

use std::time::Duration;

use cita_shared::{contracts::outbound::Message, db::Cached, error::Infra};
use deadpool_postgres::Pool;
use serde_json::Value;
use uuid::Uuid;

use super::{lease, pending, send::Sender};

/// Where an answer goes, and under which lease.
pub struct Commit<'a> {
    pub pool: &'a Pool,
    pub sender: &'a Sender<'a>,
    pub to: &'a str,
    pub conversation_id: Uuid,
    pub holder: Uuid,
    pub lease: Duration,
}

/// What an answerer decided to say about some waiting messages.
pub struct Answer<'a> {
    /// Each reply with the key its command id is derived from (stable across retries).
    pub replies: Vec<(String, Message)>,
    pub answered: &'a [Uuid],
    /// How the messages were handled (`ai`, `guided`), as `messages.handled_as` says.
    pub handled_as: &'static str,
    /// This answer itself handed the conversation to a person: its closing words still
    /// go out although a person has the conversation now.
    pub hands_off: bool,
    pub update: Update,
}

/// What the answerer remembers of the conversation.
pub enum Update {
    /// The AI's transcript; the outage it may have been through is over.
    Ai { ai_context: Value },
    /// Guided mode's flow after the message (`None`: the flow ended).
    Guided { flow: Option<Value> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Said and recorded; `released` when nothing else was waiting and the lease went
    /// with the commit.
    Done { released: bool },
    /// The lease ran out and another worker answers.
    LeaseLost,
    /// A person took the conversation over meanwhile: the answer was dropped and the
    /// messages are theirs.
    TakenOver,
}

impl Commit<'_> {
    pub async fn commit(&self, answer: Answer<'_>) -> Result<Committed, Infra> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(handed_off) =
            lease::lock_for_reply(&tx, self.conversation_id, self.holder, self.lease).await?
        else {
            return Ok(Committed::LeaseLost);
        };
        if handed_off && !answer.hands_off {
            pending::mark(&tx, answer.answered, "handed_off").await?;
            tx.commit().await?;
            return Ok(Committed::TakenOver);
        }
        for (key, message) in answer.replies {
            self.sender
                .message(&key, self.to, self.conversation_id, message)
                .await?;
        }
        pending::mark(&tx, answer.answered, answer.handled_as).await?;
        // The lease goes with the same commit when nothing else is waiting (the row
        // lock makes a concurrent intake's turn wait for it, then find it free);
        // otherwise this worker answers what came in meanwhile.
        let (sql, remembered) = match &answer.update {
            Update::Ai { ai_context } => (REMEMBER_AI, Some(ai_context)),
            Update::Guided { flow } => (REMEMBER_GUIDED, flow.as_ref()),
        };
        let released: bool = tx
            .row(sql, &[&self.conversation_id, &remembered])
            .await?
            .get(0);
        tx.commit().await?;
        Ok(Committed::Done { released })
    }
}

const REMEMBER_AI: &str = "UPDATE conversations v
     SET ai_context = $2, ai_failing_since = NULL, apology_sent_at = NULL,
         turn_retry_at = NULL, guided = NULL, updated_at = now(),
         turn_holder = CASE WHEN w.waiting THEN v.turn_holder END,
         turn_lease_until = CASE WHEN w.waiting THEN v.turn_lease_until END
     FROM (SELECT EXISTS (SELECT 1 FROM messages
                          WHERE conversation_id = $1 AND direction = 'inbound'
                            AND answered_at IS NULL) AS waiting) w
     WHERE v.id = $1
     RETURNING v.turn_holder IS NULL";

const REMEMBER_GUIDED: &str = "UPDATE conversations v
     SET guided = $2, updated_at = now(),
         turn_holder = CASE WHEN w.waiting THEN v.turn_holder END,
         turn_lease_until = CASE WHEN w.waiting THEN v.turn_lease_until END
     FROM (SELECT EXISTS (SELECT 1 FROM messages
                          WHERE conversation_id = $1 AND direction = 'inbound'
                            AND answered_at IS NULL) AS waiting) w
     WHERE v.id = $1
     RETURNING v.turn_holder IS NULL";
