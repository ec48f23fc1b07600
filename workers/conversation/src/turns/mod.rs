//! `conversation.turns`: answering what a conversation has waiting, one turn at a time
//! per conversation across all replicas (a lease on the conversation row), never holding
//! a database connection while the model thinks.
//!
//! A turn takes every unanswered message of the conversation (several quick messages
//! are answered together, in order), marks them read with the typing indicator, runs the
//! tool loop, re-checks that the conversation is still the assistant's, and publishes the
//! reply with a command id derived from the messages it answers. Messages that arrive
//! meanwhile are answered by the next turn of the same holder. When the model keeps
//! failing, the turn is retried later through delay queues; the messages stay
//! unanswered, never lost, and after a while the person gets one apology and the owner
//! a notice.

mod dialogue;
pub mod lease;
mod pending;
mod send;
pub mod sweeper;
mod transcript;

pub use pending::{Pending, mark as mark_answered};
pub use send::Sender;

use cita_shared::db::Cached;
use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use cita_shared::{
    amqp::{
        PublishError, Publisher, Topology,
        consumer::{self, Handler},
        topology::{CONVERSATION_TURNS, TURN_RETRY_TIERS, tier_of},
    },
    config::ConversationSettings,
    contracts::conversation::{Turn, TurnCommand},
};
use deadpool_postgres::Pool;
use jiff::{SignedDuration, Timestamp};
use lapin::{
    BasicProperties, Channel,
    message::Delivery,
    options::{BasicAckOptions, BasicNackOptions},
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    Clock,
    context::{self, AssistantMode, Persona},
    guided::{self, Entry, Guided, GuidedError, flow::Flow},
    metrics::Metrics,
    model::{CallError, Model},
    replies,
    tools::Toolbox,
};
use dialogue::{Dialogue, DialogueError};
use lease::Release;

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("loading the turn's context: {0}")]
    Context(#[from] context::ContextError),
    #[error("publishing: {0}")]
    Publish(#[from] PublishError),
    #[error("handing off: {0}")]
    Handoff(#[from] crate::handoff::HandoffError),
    #[error("guided mode: {0}")]
    Guided(#[from] GuidedError),
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
    pub pool: Pool,
    pub publisher: Arc<Publisher>,
    pub topology: Topology,
    pub toolbox: Toolbox,
    /// `None` without an API key: every conversation is guided.
    pub model: Option<Model>,
    pub settings: ConversationSettings,
    pub metrics: Metrics,
    pub clock: Clock,
    /// Until when organizations with the guided fallback skip the model, after it
    /// failed a turn past its tries (this replica's view).
    pub cooldown: Mutex<Option<Instant>>,
}

/// Who answers a turn.
enum Route<'a> {
    Ai(&'a Model),
    Guided(Entry),
}

/// What the turn reads of the conversation before it decides what to do.
struct State {
    handed_off: bool,
    ai_context: Value,
    /// The guided flow, unless there is none or it sat idle too long.
    guided: Option<Flow>,
    /// Inbound messages of the last minute, taps on options aside (the flood check:
    /// a guided booking is a dozen taps in a minute).
    recent_inbound: i64,
    flood_notice_at: Option<Timestamp>,
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
            let client = self.pool.get().await?;
            if !lease::claim(
                &client,
                turn.organization_id,
                turn.conversation_id,
                holder,
                self.lease(),
            )
            .await?
            {
                return Ok(Outcome::Busy);
            }
        }
        let outcome = self.answer_all(turn, holder).await;
        if !matches!(outcome, Ok(Outcome::Done))
            && let Ok(client) = self.pool.get().await
        {
            let _ = lease::release(&client, turn.conversation_id, holder).await;
        }
        outcome
    }

    async fn answer_all(&self, turn: &Turn, holder: Uuid) -> Result<Outcome, TurnError> {
        let conversation_id = turn.conversation_id;
        // Set once the remembered transcript was dropped after a 400.
        let mut forgot_history = false;
        // Set once the model failed past its tries in this turn: what is waiting is
        // answered in guided mode when the organization allows it.
        let mut outage = false;
        loop {
            let now = (self.clock)();
            let mut client = self.pool.get().await?;
            let business = context::business(&client, turn.organization_id).await?;
            let person = context::person(&client, turn.organization_id, conversation_id).await?;
            let state = state(&client, conversation_id, now, self.settings.guided_idle).await?;
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
                publisher: &self.publisher,
                topology: &self.topology,
                organization_id: business.id,
            };
            let turn_key = waiting[0].wamid.clone();
            if state.recent_inbound > i64::from(self.settings.flood_messages_per_minute) {
                let noticed = state
                    .flood_notice_at
                    .is_some_and(|at| now.duration_since(at) < SignedDuration::from_mins(10));
                if !noticed {
                    sender
                        .text(
                            &format!("flood:{turn_key}"),
                            &person.wa_id,
                            conversation_id,
                            replies::flood(),
                        )
                        .await?;
                    client
                        .run(
                            "UPDATE conversations SET flood_notice_at = $2 WHERE id = $1",
                            &[&conversation_id, &now],
                        )
                        .await?;
                }
                pending::mark(&client, &ids, "flood").await?;
                self.metrics.turn("flood");
                continue;
            }
            let route = if outage {
                Route::Guided(Entry::Outage)
            } else {
                self.route(&client, &business, &person, &state, &waiting, now)
                    .await?
            };
            let model = match route {
                Route::Ai(model) => model,
                Route::Guided(entry) => {
                    drop(client);
                    let guided = Guided {
                        turns: self,
                        business: &business,
                        person: &person,
                        conversation_id,
                        holder,
                        now,
                    };
                    guided.answer(&waiting, state.guided, entry).await?;
                    continue;
                }
            };
            let Some(user_content) = pending::user_content(&waiting) else {
                sender
                    .text(
                        &format!("unreadable:{turn_key}"),
                        &person.wa_id,
                        conversation_id,
                        replies::not_readable(),
                    )
                    .await?;
                pending::mark(&client, &ids, "not_readable").await?;
                self.metrics.turn("not_readable");
                continue;
            };
            if business.assistant_mode == AssistantMode::Ai
                && self.over_budget(&client, &business, now).await?
            {
                self.budget_notice(
                    &client,
                    &sender,
                    &person.wa_id,
                    conversation_id,
                    &business,
                    now,
                )
                .await?;
                pending::mark(&client, &ids, "budget").await?;
                self.metrics.turn("budget");
                continue;
            }
            drop(client);

            let last = waiting
                .last()
                .map_or(turn_key.as_str(), |m| m.wamid.as_str());
            let started = std::time::Instant::now();
            let history = transcript::load(&state.ai_context, now);
            let dialogue = Dialogue {
                turns: self,
                model,
                business: &business,
                person: &person,
                conversation_id,
                holder,
                turn_key: &turn_key,
                now,
                acted: Default::default(),
            };
            // The read receipt (with typing) is published while the model starts; both
            // finish before the reply is published, so it can't overtake the reply.
            let (receipt, answered) = tokio::join!(
                sender.read_receipt(&person.wa_id, conversation_id, last),
                dialogue.run(transcript::messages(&history), user_content),
            );
            if let Err(error) = receipt {
                tracing::warn!(%error, "cannot mark messages read; answering anyway");
            }
            let answer = match answered {
                Ok(answer) => answer,
                Err(DialogueError::LeaseLost) => {
                    self.metrics.turn("lease_lost");
                    return Ok(Outcome::Done);
                }
                Err(DialogueError::Model(error @ CallError::BadRequest { .. }))
                    if !forgot_history && !history.is_empty() =>
                {
                    // The remembered transcript may be what the API refuses; without it
                    // the person still gets an answer.
                    tracing::error!(%error, %conversation_id, "the model API refused our request; trying again without the transcript");
                    let client = self.pool.get().await?;
                    client
                        .run(
                            "UPDATE conversations SET ai_context = '{}' WHERE id = $1",
                            &[&conversation_id],
                        )
                        .await?;
                    forgot_history = true;
                    continue;
                }
                Err(DialogueError::Model(error @ CallError::BadRequest { .. })) => {
                    tracing::error!(%error, %conversation_id, "the model API refused our request; the turn is dead-lettered");
                    let client = self.pool.get().await?;
                    pending::mark(&client, &ids, "model_rejected").await?;
                    lease::release(&client, conversation_id, holder).await?;
                    self.metrics.turn("rejected");
                    return Ok(Outcome::Rejected(error.to_string()));
                }
                Err(DialogueError::Model(error))
                    if business.assistant_mode == AssistantMode::AiWithGuidedFallback
                        && !dialogue.acted.load(std::sync::atomic::Ordering::Relaxed) =>
                {
                    tracing::warn!(%error, %conversation_id, "the model is unavailable; answering in guided mode");
                    *self.cooldown.lock().expect("cooldown lock") =
                        Some(Instant::now() + self.settings.ai_cooldown);
                    self.metrics.turn("fell_back");
                    outage = true;
                    continue;
                }
                Err(DialogueError::Model(error)) => {
                    tracing::warn!(%error, %conversation_id, attempt = turn.attempt, "the model is unavailable; the turn is retried later");
                    self.failing(
                        &sender,
                        &business,
                        &person,
                        conversation_id,
                        turn.attempt,
                        now,
                    )
                    .await?;
                    self.metrics.turn("retry_later");
                    return Ok(Outcome::RetryLater);
                }
                Err(DialogueError::Postgres(e)) => return Err(e.into()),
                Err(DialogueError::Pool(e)) => return Err(e.into()),
                Err(DialogueError::Handoff(e)) => return Err(e.into()),
            };

            // Ownership is checked again now that the model has answered: a person may
            // have taken the conversation over meanwhile. The row stays locked while
            // the reply is published, so a takeover lands either before (and the reply
            // is dropped) or after it.
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let Some(handed_off) =
                lease::lock_for_reply(&tx, conversation_id, holder, self.lease()).await?
            else {
                self.metrics.turn("lease_lost");
                return Ok(Outcome::Done);
            };
            let taken_over = handed_off && !answer.handed_off;
            if taken_over {
                pending::mark(&tx, &ids, "handed_off").await?;
                tx.commit().await?;
                tracing::info!(%conversation_id, "a person took the conversation over while the model was thinking; its reply is dropped");
                self.metrics.turn("dropped_taken_over");
                continue;
            }
            // Keyed by every message it answers: a turn run again over more messages (one
            // arrived after a crash) is a new reply, not a duplicate of the lost one.
            let answered: Vec<&str> = waiting.iter().map(|m| m.wamid.as_str()).collect();
            sender
                .text(
                    &format!("reply:{}", answered.join(",")),
                    &person.wa_id,
                    conversation_id,
                    &answer.text,
                )
                .await?;
            pending::mark(&tx, &ids, "ai").await?;
            // The lease goes with the same commit when nothing else is waiting (the row
            // lock makes a concurrent intake's turn wait for it, then find it free);
            // otherwise this worker answers what came in meanwhile.
            let released: bool = tx
                .row(
                    "UPDATE conversations v
                     SET ai_context = $2, ai_failing_since = NULL, apology_sent_at = NULL,
                         turn_retry_at = NULL, guided = NULL, updated_at = now(),
                         turn_holder = CASE WHEN w.waiting THEN v.turn_holder END,
                         turn_lease_until = CASE WHEN w.waiting THEN v.turn_lease_until END
                     FROM (SELECT EXISTS (SELECT 1 FROM messages
                                          WHERE conversation_id = $1 AND direction = 'inbound'
                                            AND answered_at IS NULL) AS waiting) w
                     WHERE v.id = $1
                     RETURNING v.turn_holder IS NULL",
                    &[
                        &conversation_id,
                        &transcript::with(history, answer.exchange, now),
                    ],
                )
                .await?
                .get(0);
            tx.commit().await?;
            self.metrics
                .turn_seconds
                .observe(started.elapsed().as_secs_f64());
            self.metrics.turn(if answer.handed_off {
                "answered_handed_off"
            } else {
                "answered"
            });
            if released {
                return Ok(Outcome::Done);
            }
        }
    }

    /// Whether the model or guided mode answers: guided when there is no model or the
    /// organization chose it; with the fallback also while a guided flow is under way
    /// (a conversation returns to the AI at rest, never mid-booking), while the model
    /// is cooling down after an outage, and when the day's AI budget is spent.
    async fn route(
        &self,
        client: &deadpool_postgres::Client,
        business: &context::Business,
        person: &context::Person,
        state: &State,
        waiting: &[Pending],
        now: Timestamp,
    ) -> Result<Route<'_>, TurnError> {
        let Some(model) = self.model.as_ref() else {
            return Ok(Route::Guided(Entry::Chosen));
        };
        match business.assistant_mode {
            AssistantMode::Guided => return Ok(Route::Guided(Entry::Chosen)),
            AssistantMode::Ai => return Ok(Route::Ai(model)),
            AssistantMode::AiWithGuidedFallback => {}
        }
        if self.cooling_down() {
            return Ok(Route::Guided(Entry::Outage));
        }
        // At rest, a tap or a typed option number or title still belongs to the flow.
        if let Some(flow) = &state.guided
            && (!flow.step.at_rest() || guided::picks(&waiting[0], flow, person.persona))
        {
            return Ok(Route::Guided(Entry::Chosen));
        }
        if self.over_budget(client, business, now).await? {
            return Ok(Route::Guided(Entry::Budget));
        }
        Ok(Route::Ai(model))
    }

    fn cooling_down(&self) -> bool {
        let mut until = self.cooldown.lock().expect("cooldown lock");
        match *until {
            Some(at) if at > Instant::now() => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    async fn over_budget(
        &self,
        client: &deadpool_postgres::Client,
        business: &context::Business,
        now: Timestamp,
    ) -> Result<bool, TurnError> {
        let budget = business
            .daily_budget_micro_usd
            .unwrap_or(self.settings.daily_budget_micro_usd);
        let today = now.to_zoned(business.time_zone.clone()).date();
        let spent: i64 = client
            .maybe_row(
                "SELECT cost_micro_usd FROM ai_spend WHERE organization_id = $1 AND day = $2",
                &[&business.id, &today],
            )
            .await?
            .map_or(0, |row| row.get(0));
        Ok(spent >= budget)
    }

    /// Tells the person once per local day that the assistant stopped for today.
    async fn budget_notice(
        &self,
        client: &deadpool_postgres::Client,
        sender: &Sender<'_>,
        to: &str,
        conversation_id: Uuid,
        business: &context::Business,
        now: Timestamp,
    ) -> Result<(), TurnError> {
        let today = now.to_zoned(business.time_zone.clone()).date().to_string();
        let first = client
            .run(
                "UPDATE conversations SET ai_context = jsonb_set(ai_context, '{budget_notice_on}', to_jsonb($2::text))
                 WHERE id = $1 AND ai_context->>'budget_notice_on' IS DISTINCT FROM $2",
                &[&conversation_id, &today],
            )
            .await?;
        if first == 1 {
            sender
                .text(
                    &format!("budget:{conversation_id}:{today}"),
                    to,
                    conversation_id,
                    replies::budget(),
                )
                .await?;
        }
        Ok(())
    }

    /// The model failed this turn: remember since when, and once the oldest waiting
    /// message is older than the apology time, apologize once and tell the owners.
    async fn failing(
        &self,
        sender: &Sender<'_>,
        business: &context::Business,
        person: &context::Person,
        conversation_id: Uuid,
        attempt: u32,
        now: Timestamp,
    ) -> Result<(), TurnError> {
        let client = self.pool.get().await?;
        let retry_in = tier_of(TURN_RETRY_TIERS, attempt + 1).delay_ms;
        let row = client
            .row(
                "UPDATE conversations
                 SET ai_failing_since = COALESCE(ai_failing_since, now()),
                     turn_retry_at = now() + make_interval(secs => $2::float8 / 1000)
                 WHERE id = $1
                 RETURNING ai_failing_since,
                           apology_sent_at IS NOT NULL AND apology_sent_at >= ai_failing_since,
                           (SELECT min(created_at) FROM messages
                            WHERE conversation_id = $1 AND direction = 'inbound' AND answered_at IS NULL)",
                &[&conversation_id, &f64::from(retry_in)],
            )
            .await?;
        let since: Timestamp = row.get(0);
        let apologized: bool = row.get(1);
        let oldest: Option<Timestamp> = row.get(2);
        let waited = oldest.map_or(SignedDuration::ZERO, |at| now.duration_since(at));
        let due = waited.as_secs_f64() >= self.settings.apology_after.as_secs_f64();
        if apologized || !due {
            return Ok(());
        }
        let key = format!("apology:{conversation_id}:{since}");
        sender
            .text(&key, &person.wa_id, conversation_id, replies::apology())
            .await?;
        if person.persona == Persona::Customer {
            let who = person.name.clone().unwrap_or_else(|| person.wa_id.clone());
            let minutes = (waited.as_secs_f64() / 60.0).round() as u64;
            let owners = client
                .rows(
                    "SELECT id, phone FROM staff
                     WHERE organization_id = $1 AND active AND role = 'owner' AND phone IS NOT NULL",
                    &[&business.id],
                )
                .await?;
            for owner in owners {
                let id: Uuid = owner.get(0);
                let phone: String = owner.get(1);
                sender
                    .staff_notice(
                        &format!("{key}:owner:{id}"),
                        &phone,
                        replies::owner_notice_model_down(&who, minutes),
                        &business.locale,
                    )
                    .await?;
            }
        }
        client
            .run(
                "UPDATE conversations SET apology_sent_at = now() WHERE id = $1",
                &[&conversation_id],
            )
            .await?;
        self.metrics.turn("apologized");
        Ok(())
    }
}

async fn state(
    client: &deadpool_postgres::Client,
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

/// How long a database or broker outage is waited out in place before the turn command
/// is requeued.
const PATIENCE: Duration = Duration::from_secs(60);

impl Handler for Turns {
    fn handle(
        self: &Arc<Self>,
        _channel: &Channel,
        delivery: Delivery,
    ) -> impl Future<Output = ()> + Send + 'static {
        let turns = self.clone();
        async move { turns.take(delivery).await }
    }
}

impl Turns {
    async fn take(&self, delivery: Delivery) {
        let turn = match serde_json::from_slice::<TurnCommand>(&delivery.data) {
            Ok(TurnCommand::TurnV1(turn)) => turn,
            Err(error) => {
                let reason = format!("malformed turn command: {error}");
                tracing::warn!(%reason, "turn command dead-lettered");
                self.dead_letter(&delivery, &reason).await;
                return;
            }
        };
        let what = format!("turn of conversation {}", turn.conversation_id);
        let outcome = consumer::patiently(PATIENCE, &what, || self.run(&turn)).await;
        let settled = match outcome {
            Some(Outcome::Done) | Some(Outcome::Busy) => {
                delivery.ack(BasicAckOptions::default()).await.map(drop)
            }
            Some(Outcome::RetryLater) => {
                let next = Turn {
                    attempt: turn.attempt + 1,
                    ..turn.clone()
                };
                let tier = tier_of(TURN_RETRY_TIERS, next.attempt);
                let body = serde_json::to_vec(&TurnCommand::TurnV1(next))
                    .expect("a turn command serializes to JSON");
                match self
                    .publisher
                    .publish(
                        "",
                        &self.topology.name(tier.queue),
                        &body,
                        BasicProperties::default().with_content_type("application/json".into()),
                    )
                    .await
                {
                    Ok(()) => delivery.ack(BasicAckOptions::default()).await.map(drop),
                    Err(error) => {
                        tracing::warn!(%error, "cannot schedule the turn's retry; requeueing it");
                        requeue(&delivery).await
                    }
                }
            }
            Some(Outcome::Rejected(reason)) => {
                self.dead_letter(&delivery, &reason).await;
                Ok(())
            }
            None => requeue(&delivery).await,
        };
        if let Err(error) = settled {
            tracing::warn!(%error, "cannot settle a turn command; it will be redelivered");
        }
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) {
        consumer::dead_letter_and_ack(
            &self.publisher,
            &self.topology,
            CONVERSATION_TURNS,
            delivery,
            reason,
        )
        .await;
    }
}

async fn requeue(delivery: &Delivery) -> Result<(), lapin::Error> {
    delivery
        .nack(BasicNackOptions {
            requeue: true,
            ..Default::default()
        })
        .await
        .map(drop)
}
