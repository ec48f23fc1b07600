//! The tool loop: call the model, run the tools it asks for (each re-checked by the
//! system), send every result back in one user message, until it answers in text or the
//! iteration bound is reached (then a person takes over). Each call's usage and cost is
//! stored as it happens.

use cita_shared::db::Cached;
use std::{collections::HashMap, time::Duration};

use jiff::Timestamp;
use serde_json::{Value, json};
use uuid::Uuid;

use cita_shared::error::{Chain, Infra};

use super::Turns;
use crate::{
    answer::lease,
    context::{Business, Person},
    handoff,
    model::{Block, CallError, Model, Request, Response, StopReason, tool_result},
    prompt,
    tools::{Call, Effect, definitions},
};

/// A finished dialogue: what to send, and the messages to remember.
#[derive(Debug)]
pub struct Answer {
    pub text: String,
    /// The user's message and everything after it, as exchanged with the API.
    pub exchange: Vec<Value>,
    /// This turn handed the conversation to a person (its reply still goes out).
    pub handed_off: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DialogueError {
    #[error(transparent)]
    Model(#[from] CallError),
    #[error("the turn's lease was lost")]
    LeaseLost,
    #[error(transparent)]
    Infra(#[from] Infra),
}

cita_shared::infra_errors!(DialogueError);

pub struct Dialogue<'a> {
    pub turns: &'a Turns,
    pub model: &'a Model,
    pub business: &'a Business,
    pub person: &'a Person,
    pub conversation_id: Uuid,
    pub holder: Uuid,
    /// Stable for this batch of messages (the first one's WhatsApp id).
    pub turn_key: &'a str,
    pub now: Timestamp,
    /// Set once a tool ran: a turn that acted must not be answered by guided mode when
    /// a later model call fails (the person would not hear what was done).
    pub acted: std::sync::atomic::AtomicBool,
}

impl Dialogue<'_> {
    pub async fn run(
        &self,
        history: Vec<Value>,
        user_content: Vec<Value>,
    ) -> Result<Answer, DialogueError> {
        let settings = &self.turns.settings;
        let mut request = Request {
            system: prompt::system(self.business, self.person, self.now),
            tools: definitions::for_persona(self.person.persona),
            messages: history,
            user_hash: prompt::user_hash(self.business, self.person),
        };
        let first_new = request.messages.len();
        request
            .messages
            .push(json!({"role": "user", "content": user_content}));
        let mut calls_per_tool: HashMap<String, u32> = HashMap::new();
        let mut handed_off = false;
        for _ in 0..settings.max_iterations {
            self.renew().await?;
            let response = self.call(&request).await?;
            request
                .messages
                .push(json!({"role": "assistant", "content": response.content}));
            match &response.stop {
                StopReason::ToolUse => {
                    let mut results = Vec::new();
                    for block in &response.blocks {
                        let Block::ToolUse { id, name, input } = block else {
                            continue;
                        };
                        let n = calls_per_tool.entry(name.clone()).or_default();
                        *n += 1;
                        // The same call of a retried turn (same messages, tool and place)
                        // gets the first result back instead of acting twice.
                        let call = Call {
                            business: self.business,
                            person: self.person,
                            conversation_id: self.conversation_id,
                            idempotency_key: format!("{}:{name}:{n}", self.turn_key),
                            now: self.now,
                        };
                        self.acted.store(true, std::sync::atomic::Ordering::Relaxed);
                        let ran = self.turns.toolbox.run(&call, name, input).await;
                        self.turns.metrics.tool(name, ran.outcome());
                        if let Err(error) = &ran.result {
                            tracing::info!(tool = %name, error = %Chain(error), "tool call refused or failed");
                        }
                        handed_off |= ran.effect == Effect::HandedOff;
                        let result = ran.result.map_err(|error| error.for_model(self.business));
                        results.push(tool_result(id, result));
                    }
                    request
                        .messages
                        .push(json!({"role": "user", "content": results}));
                }
                StopReason::Refusal => {
                    return self
                        .hand_off(
                            request.messages,
                            first_new,
                            "el asistente declinó responder",
                        )
                        .await;
                }
                stop => {
                    let text = response.text();
                    let text = if text.is_empty() {
                        self.business.words().fallback().to_owned()
                    } else {
                        text
                    };
                    // What is remembered must be valid history for the next request: an
                    // empty answer, or one cut off (max_tokens) in the middle of a tool
                    // call, would make every later request a 400. Those are remembered
                    // as the words actually sent.
                    let clean = *stop == StopReason::EndTurn
                        && !response.content.is_empty()
                        && !response
                            .blocks
                            .iter()
                            .any(|b| matches!(b, Block::ToolUse { .. }));
                    if !clean && let Some(last) = request.messages.last_mut() {
                        *last = json!({"role": "assistant", "content": [{"type": "text", "text": text}]});
                    }
                    return Ok(Answer {
                        text,
                        exchange: request.messages.split_off(first_new),
                        handed_off,
                    });
                }
            }
        }
        let reason = format!(
            "el asistente no lo resolvió en {} pasos",
            settings.max_iterations
        );
        self.hand_off(request.messages, first_new, &reason).await
    }

    /// A person takes over; the exchange is closed with the fixed words sent.
    async fn hand_off(
        &self,
        mut messages: Vec<Value>,
        first_new: usize,
        reason: &str,
    ) -> Result<Answer, DialogueError> {
        handoff::hand_off(
            &self.turns.toolbox.pool,
            self.business,
            self.conversation_id,
            reason,
            self.now,
        )
        .await?;
        let text = self.business.words().handed_to_person().to_owned();
        messages.push(json!({"role": "assistant", "content": [{"type": "text", "text": text}]}));
        Ok(Answer {
            text,
            exchange: messages.split_off(first_new),
            handed_off: true,
        })
    }

    async fn renew(&self) -> Result<(), DialogueError> {
        let client = self.turns.toolbox.pool.get().await?;
        if lease::renew(
            &client,
            self.conversation_id,
            self.holder,
            self.turns.lease(),
        )
        .await?
        {
            Ok(())
        } else {
            Err(DialogueError::LeaseLost)
        }
    }

    /// One model call, tried again on 429/529/5xx/timeouts with backoff within the bound.
    async fn call(&self, request: &Request) -> Result<Response, DialogueError> {
        let settings = &self.turns.settings;
        let mut pause = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            match self.model.call(request).await {
                Ok(response) => {
                    self.turns.metrics.model_call("ok");
                    self.record(&response).await?;
                    return Ok(response);
                }
                Err(error) => {
                    self.turns.metrics.model_call(error.label());
                    let retry = matches!(error, CallError::Unavailable { .. })
                        && attempt < settings.attempts;
                    tracing::warn!(%error, attempt, retry, conversation_id = %self.conversation_id, "model call failed");
                    if !retry {
                        return Err(error.into());
                    }
                    tokio::time::sleep(jitter(pause)).await;
                    pause = (pause * 2).min(Duration::from_secs(8));
                    attempt += 1;
                }
            }
        }
    }

    async fn record(&self, response: &Response) -> Result<(), DialogueError> {
        let usage = response.usage;
        let model = self.model;
        let metrics = &self.turns.metrics;
        metrics.tokens("input", usage.input);
        metrics.tokens("output", usage.output);
        metrics.tokens("cache_read", usage.cache_read);
        metrics.tokens("cache_write", usage.cache_write);
        let client = self.turns.toolbox.pool.get().await?;
        let count = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        let today = self.now.to_zoned(self.business.time_zone.clone()).date();
        client
            .run(
                "WITH used AS (
                     INSERT INTO ai_usage (organization_id, conversation_id, model, request_id,
                                           input_tokens, output_tokens, cache_read_tokens,
                                           cache_write_tokens, cost_micro_usd)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))
                 INSERT INTO ai_spend (organization_id, day, cost_micro_usd) VALUES ($1, $10, $9)
                 ON CONFLICT (organization_id, day)
                 DO UPDATE SET cost_micro_usd = ai_spend.cost_micro_usd + EXCLUDED.cost_micro_usd",
                &[
                    &self.business.id,
                    &self.conversation_id,
                    &model.name,
                    &response.request_id,
                    &count(usage.input),
                    &count(usage.output),
                    &count(usage.cache_read),
                    &count(usage.cache_write),
                    &usage.cost_micro_usd(&model.prices),
                    &today,
                ],
            )
            .await?;
        Ok(())
    }
}

/// Up to a quarter less, so that retries of many turns don't arrive together.
fn jitter(pause: Duration) -> Duration {
    let nanos = jiff::Timestamp::now().subsec_nanosecond().unsigned_abs();
    pause.mul_f64(1.0 - f64::from(nanos % 250) / 1000.0)
}
