//! The AI path of a turn: messages the model can't read get a fixed reply; an
//! organization on the AI alone stops at its daily budget; otherwise the dialogue runs
//! (the read receipt goes out meanwhile) and its answer is committed. When the model
//! fails: a 400 is retried once without the remembered transcript, then dead-letters
//! the turn; an outage falls back to guided mode where the organization allows it (and
//! no tool ran yet), or the turn is retried later.

use std::sync::atomic::Ordering;

use cita_shared::{contracts::conversation::Turn, db::Cached, spanish};
use jiff::Timestamp;
use uuid::Uuid;

use super::{
    Outcome, Then, TurnError, Turns, budget,
    dialogue::{Dialogue, DialogueError},
    flood::At,
    route,
    state::State,
    transcript,
};
use crate::{
    answer::{Answer, Commit, Committed, Pending, Sender, Update, pending},
    context::{AssistantMode, Business, Person},
    model::{CallError, Model},
};

/// What the AI path remembers across the loop of one turn.
#[derive(Default)]
pub struct Memory {
    /// The remembered transcript was dropped after the API refused a request.
    forgot_history: bool,
}

pub struct Answering<'a> {
    pub turns: &'a Turns,
    pub model: &'a Model,
    pub business: &'a Business,
    pub person: &'a Person,
    pub sender: &'a Sender<'a>,
    pub turn: &'a Turn,
    pub holder: Uuid,
    pub now: Timestamp,
}

impl Answering<'_> {
    pub async fn answer(
        &self,
        state: &State,
        waiting: &[Pending],
        memory: &mut Memory,
    ) -> Result<Then, TurnError> {
        let turns = self.turns;
        let conversation_id = self.turn.conversation_id;
        let ids: Vec<Uuid> = waiting.iter().map(|m| m.id).collect();
        let turn_key = waiting[0].wamid.as_str();
        let user_content = {
            let client = turns.toolbox.pool.get().await?;
            let at = At {
                words: self.business.words(),
                client: &client,
                sender: self.sender,
                person: self.person,
                conversation_id,
                now: self.now,
            };
            let Some(user_content) = pending::user_content(waiting) else {
                self.sender
                    .text(
                        &format!("unreadable:{turn_key}"),
                        &self.person.wa_id,
                        conversation_id,
                        self.business.words().not_readable(),
                    )
                    .await?;
                pending::mark(&client, &ids, "not_readable").await?;
                turns.metrics.turn("not_readable");
                return Ok(Then::Again);
            };
            if self.business.assistant_mode == AssistantMode::Ai
                && budget::spent(turns, &client, self.business, self.now).await?
            {
                budget::notice(&at, self.business).await?;
                pending::mark(&client, &ids, "budget").await?;
                turns.metrics.turn("budget");
                return Ok(Then::Again);
            }
            user_content
        };
        self.converse(state, waiting, &ids, user_content, memory)
            .await
    }

    async fn converse(
        &self,
        state: &State,
        waiting: &[Pending],
        ids: &[Uuid],
        user_content: Vec<serde_json::Value>,
        memory: &mut Memory,
    ) -> Result<Then, TurnError> {
        let turns = self.turns;
        let conversation_id = self.turn.conversation_id;
        let turn_key = waiting[0].wamid.as_str();
        let last = waiting.last().map_or(turn_key, |m| m.wamid.as_str());
        let started = std::time::Instant::now();
        let history = transcript::load(&state.ai_context, self.now);
        let dialogue = Dialogue {
            turns,
            model: self.model,
            business: self.business,
            person: self.person,
            conversation_id,
            holder: self.holder,
            turn_key,
            now: self.now,
            acted: Default::default(),
        };
        // The read receipt (with typing) is published while the model starts; both
        // finish before the reply is published, so it can't overtake the reply.
        let (receipt, answered) = tokio::join!(
            self.sender
                .read_receipt(&self.person.wa_id, conversation_id, last),
            dialogue.run(transcript::messages(&history), user_content),
        );
        if let Err(error) = receipt {
            tracing::warn!(%error, "cannot mark messages read; answering anyway");
        }
        let answer = match answered {
            Ok(answer) => answer,
            Err(DialogueError::LeaseLost) => {
                turns.metrics.turn("lease_lost");
                return Ok(Then::Stop(Outcome::Done));
            }
            Err(DialogueError::Model(error @ CallError::BadRequest { .. }))
                if !memory.forgot_history && !history.is_empty() =>
            {
                // The remembered transcript may be what the API refuses; without it
                // the person still gets an answer.
                tracing::error!(%error, %conversation_id, "the model API refused our request; trying again without the transcript");
                let client = turns.toolbox.pool.get().await?;
                client
                    .run(
                        "UPDATE conversations SET ai_context = '{}' WHERE id = $1",
                        &[&conversation_id],
                    )
                    .await?;
                memory.forgot_history = true;
                return Ok(Then::Again);
            }
            Err(DialogueError::Model(error @ CallError::BadRequest { .. })) => {
                tracing::error!(%error, %conversation_id, "the model API refused our request; the turn is dead-lettered");
                let client = turns.toolbox.pool.get().await?;
                pending::mark(&client, ids, "model_rejected").await?;
                crate::answer::lease::release(&client, conversation_id, self.holder).await?;
                turns.metrics.turn("rejected");
                return Ok(Then::Stop(Outcome::Rejected(error.to_string())));
            }
            Err(DialogueError::Model(error))
                if self.business.assistant_mode == AssistantMode::AiWithGuidedFallback
                    && !dialogue.acted.load(Ordering::Relaxed) =>
            {
                tracing::warn!(%error, %conversation_id, "the model is unavailable; answering in guided mode");
                route::cool_down(turns, self.now);
                turns.metrics.turn("fell_back");
                return Ok(Then::Outage);
            }
            Err(DialogueError::Model(error)) => {
                tracing::warn!(%error, %conversation_id, attempt = self.turn.attempt, "the model is unavailable; the turn is retried later");
                self.failing().await?;
                turns.metrics.turn("retry_later");
                return Ok(Then::Stop(Outcome::RetryLater));
            }
            Err(DialogueError::Infra(error)) => return Err(error.into()),
        };

        // Ownership is checked again now that the model has answered: a person may
        // have taken the conversation over meanwhile. Keyed by every message it
        // answers: a turn run again over more messages (one arrived after a crash) is a
        // new reply, not a duplicate of the lost one.
        let answered: Vec<&str> = waiting.iter().map(|m| m.wamid.as_str()).collect();
        let commit = Commit {
            pool: &turns.toolbox.pool,
            sender: self.sender,
            to: &self.person.wa_id,
            conversation_id,
            holder: self.holder,
            lease: turns.lease(),
        };
        let committed = commit
            .commit(Answer {
                replies: vec![(
                    format!("reply:{}", answered.join(",")),
                    spanish::text(answer.text),
                )],
                answered: ids,
                handled_as: "ai",
                hands_off: answer.handed_off,
                update: Update::Ai {
                    ai_context: transcript::with(history, answer.exchange, self.now),
                },
            })
            .await?;
        Ok(match committed {
            Committed::LeaseLost => {
                turns.metrics.turn("lease_lost");
                Then::Stop(Outcome::Done)
            }
            Committed::TakenOver => {
                tracing::info!(%conversation_id, "a person took the conversation over while the model was thinking; its reply is dropped");
                turns.metrics.turn("dropped_taken_over");
                Then::Again
            }
            Committed::Done { released } => {
                turns
                    .metrics
                    .turn_seconds
                    .observe(started.elapsed().as_secs_f64());
                turns.metrics.turn(if answer.handed_off {
                    "answered_handed_off"
                } else {
                    "answered"
                });
                if released {
                    Then::Stop(Outcome::Done)
                } else {
                    Then::Again
                }
            }
        })
    }
}
