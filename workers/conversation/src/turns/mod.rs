//! `conversation.turns`: answering what a conversation has waiting, one turn at a time
//! per conversation across all replicas (a lease on the conversation row), never holding
//! a database connection while the model thinks.
//!
//! A turn takes every unanswered message of the conversation (several quick messages
//! are answered together, in order) and passes them through its policies, each in a
//! module of its own:
//!
//! - [`state`]: what the turn reads first (handed off? flooding? a guided flow?);
//! - [`flood`]: too many messages in a minute are answered once, without the model;
//! - [`route`]: the AI or guided mode, with the model's cooldown after an outage;
//! - [`budget`]: the day's AI spend, and the notice when it runs out;
//! - [`ai`]: the AI path — unreadable messages, the [`dialogue`] (the tool loop), and
//!   what happens when the model fails;
//! - [`failing`]: the apology and the owner's notice when the model keeps failing;
//! - [`handler`]: the consumer of `conversation.turns` and its retries.
//!
//! Replies are committed through [`crate::answer`], the same way for the AI and guided
//! mode. Messages that arrive meanwhile are answered by the next turn of the same holder.

mod ai;
mod budget;
mod dialogue;
mod failing;
mod flood;
mod handler;
mod route;
mod state;
pub mod sweeper;
mod transcript;

use std::{sync::Mutex, time::Duration};

use cita_shared::{
    clock::Clock, config::ConversationSettings, contracts::conversation::Turn, error::Infra,
};
use jiff::Timestamp;
use uuid::Uuid;

use crate::{
    answer::{
        Sender,
        lease::{self, Release},
        pending,
    },
    context::{self, ContextError},
    guided::{Entry, Guided},
    metrics::Metrics,
    model::Model,
    tools::Toolbox,
};
use route::Route;

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error(transparent)]
    Infra(#[from] Infra),
    #[error(transparent)]
    Context(#[from] ContextError),
}

cita_shared::infra_errors!(TurnError);

impl cita_shared::error::Classify for TurnError {
    fn is_transient(&self) -> bool {
        match self {
            TurnError::Infra(infra) => infra.is_transient(),
            TurnError::Context(ContextError::Infra(infra)) => infra.is_transient(),
            // An organization this worker can't read stays unreadable.
            TurnError::Context(_) => false,
        }
    }
}

/// How a turn ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything waiting was answered (or nothing was waiting).
    Done,
    /// Another worker holds the conversation; it answers what is waiting.
    Busy,
    /// The model is unavailable: try again after a delay.
    RetryLater,
    /// The API refused the request as invalid (a bug): dead-letter the turn.
    Rejected(String),
}

pub struct Turns {
    /// The pool, the broker and scheduling, as the tools reach them.
    pub toolbox: Toolbox,
    /// `None` without an API key: every conversation is guided.
    pub model: Option<Model>,
    pub settings: ConversationSettings,
    pub metrics: Metrics,
    pub clock: Clock,
    /// Until when organizations with the guided fallback skip the model, after it
    /// failed a turn past its tries (this replica's view).
    pub cooldown: Mutex<Option<Timestamp>>,
}

/// What the AI path decided for the loop.
enum Then {
    /// Look at what is waiting again.
    Again,
    /// The model failed past its tries: answer what is waiting in guided mode.
    Outage,
    /// The turn is over.
    Stop(Outcome),
}

impl Turns {
    /// Long enough for every try of one model call, the backoff between tries (at most
    /// 8 s each) and the tools that follow (a few RPCs of at most 10 s); renewed before
    /// each call.
    pub(crate) fn lease(&self) -> Duration {
        (self.settings.call_timeout + Duration::from_secs(8)) * self.settings.attempts
            + Duration::from_secs(60)
    }

    /// Runs the turn of `turn.conversation_id` if no other worker is running it.
    pub async fn run(&self, turn: &Turn) -> Result<Outcome, TurnError> {
        let holder = Uuid::new_v4();
        {
            let client = self.toolbox.pool.get().await?;
            let claimed = lease::claim(
                &client,
                turn.organization_id,
                turn.conversation_id,
                holder,
                self.lease(),
            )
            .await?;
            if !claimed {
                return Ok(Outcome::Busy);
            }
        }
        let outcome = self.answer_all(turn, holder).await;
        if !matches!(outcome, Ok(Outcome::Done))
            && let Ok(client) = self.toolbox.pool.get().await
        {
            let _ = lease::release(&client, turn.conversation_id, holder).await;
        }
        outcome
    }

    async fn answer_all(&self, turn: &Turn, holder: Uuid) -> Result<Outcome, TurnError> {
        let conversation_id = turn.conversation_id;
        let mut memory = ai::Memory::default();
        // Set once the model failed past its tries in this turn: what is waiting is
        // answered in guided mode when the organization allows it.
        let mut outage = false;
        loop {
            let now = self.clock.now();
            let mut client = self.toolbox.pool.get().await?;
            let business = context::business(&client, turn.organization_id).await?;
            let person = context::person(&client, turn.organization_id, conversation_id).await?;
            let state =
                state::load(&client, conversation_id, now, self.settings.guided_idle).await?;
            let waiting = pending::load(&client, conversation_id).await?;
            if waiting.is_empty() {
                match lease::release_if_idle(&mut client, conversation_id, holder).await? {
                    Release::MoreWork => continue,
                    Release::Released | Release::Lost => return Ok(Outcome::Done),
                }
            }
            let ids: Vec<Uuid> = waiting.iter().map(|m| m.id).collect();
            let (Some(business), Some(person), Some(state)) = (business, person, state) else {
                // A suspended organization or a conversation that is gone: not answered.
                pending::mark(&client, &ids, "not_answerable").await?;
                self.metrics.turn("not_answerable");
                continue;
            };
            if state.handed_off {
                pending::mark(&client, &ids, "handed_off").await?;
                self.metrics.turn("handed_off");
                continue;
            }
            let sender = Sender {
                publisher: &self.toolbox.publisher,
                topology: &self.toolbox.topology,
                organization_id: business.id,
            };
            let at = flood::At {
                words: business.words(),
                client: &client,
                sender: &sender,
                person: &person,
                conversation_id,
                now,
            };
            if flood::answered(self, &at, &state, &waiting).await? {
                continue;
            }
            let route = if outage {
                Route::Guided(Entry::Outage)
            } else {
                route::decide(self, &client, &business, &person, &state, &waiting, now).await?
            };
            drop(client);
            let model = match route {
                Route::Ai(model) => model,
                Route::Guided(entry) => {
                    let guided = Guided {
                        toolbox: &self.toolbox,
                        metrics: &self.metrics,
                        lease: self.lease(),
                        business: &business,
                        person: &person,
                        conversation_id,
                        holder,
                        now,
                    };
                    if guided.answer(&waiting, state.guided, entry).await? {
                        return Ok(Outcome::Done);
                    }
                    continue;
                }
            };
            let answering = ai::Answering {
                turns: self,
                model,
                business: &business,
                person: &person,
                sender: &sender,
                turn,
                holder,
                now,
            };
            match answering.answer(&state, &waiting, &mut memory).await? {
                Then::Again => {}
                Then::Outage => outage = true,
                Then::Stop(outcome) => return Ok(outcome),
            }
        }
    }
}
