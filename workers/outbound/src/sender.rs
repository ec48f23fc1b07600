//! Handling one send command, from delivery to settlement:
//!
//! 1. parse (malformed → dead queue with the reason); find the organization (unknown →
//!    dead queue);
//! 2. claim the command's row — a command already sent or failed is acked without
//!    calling Meta;
//! 3. hold it while the organization can't send (suspended → failed; token refused or
//!    not connected yet → parked until a token is stored);
//! 4. check WhatsApp's limits, then the 24-hour window (closed → the fallback template,
//!    or failed `outside_window`);
//! 5. wait for a turn under the number's and the recipient's rate limits;
//! 6. call Meta and record the outcome: sent; retryable → a retry tier, until the
//!    attempts run out (then failed and the dead queue); 131047 → the fallback template;
//!    190 → organization paused; anything else → failed.

use std::{future::Future, sync::Arc, time::Duration};

use cita_shared::{
    amqp::{
        Publisher, Topology,
        consumer::{self, DeadLettered, Handler},
        topology::{OUTBOUND_SEND, retry_tier},
    },
    contracts::{
        events::FailureReason,
        outbound::{Command, Message, Outgoing},
    },
    crypto::Keyring,
    secret::Secret,
};
use deadpool_postgres::Pool;
use lapin::{
    Channel,
    message::Delivery,
    options::{BasicAckOptions, BasicNackOptions},
    types::{AMQPValue, FieldTable},
};

use crate::{
    graph::{Class, GraphClient, GraphError},
    ledger::{self, Claim, LedgerError, Organization},
    metrics::Metrics,
    pacing::{Pace, Pacer, PacingError},
    payload,
    sequencer::Sequencer,
};

/// Counts how often a command was put off (busy elsewhere, rate limited, a dependency
/// down); it picks the delay tier, and is no attempt at Meta.
const DEFERRALS_HEADER: &str = "x-cita-deferrals";

/// How long a send Meta accepted waits in place for the database to record it.
const RECORD_PATIENCE: Duration = Duration::from_secs(600);

/// How the fleet's limits apply to this worker.
#[derive(Debug, Clone)]
pub struct Limits {
    pub number_rate: u32,
    pub number_burst: u32,
    pub pair: Pace,
    pub max_attempts: u32,
    /// How long a claimed row stays leased: more than two Graph calls (the message,
    /// then its fallback) each after a wait in place.
    pub lease: Duration,
}

pub struct Outbound {
    pub pool: Pool,
    pub graph: GraphClient,
    pub keyring: Keyring,
    /// Empty until Redis answers (it is retried in the background); meanwhile sends go
    /// unpaced and Meta's own limits push back.
    pub pacer: Arc<tokio::sync::OnceCell<Pacer>>,
    pub publisher: Arc<Publisher>,
    pub topology: Topology,
    pub limits: Limits,
    pub sequencer: Arc<Sequencer>,
    pub metrics: Metrics,
}

/// What becomes of a delivery once its command has been handled.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Settle {
    Ack,
    /// Back through the retry tier of this attempt.
    Retry {
        attempt: u32,
    },
    /// Put off without an attempt: back through a retry tier.
    Defer,
    DeadLetter(String),
}

impl Handler for Outbound {
    fn handle(
        self: &Arc<Self>,
        _channel: &Channel,
        delivery: Delivery,
    ) -> impl Future<Output = ()> + Send + 'static {
        let parsed = serde_json::from_slice::<Command>(&delivery.data);
        // Taken now, in consumption order, so messages to one recipient keep their order.
        let turn = match &parsed {
            Ok(Command::SendV1(send)) => Some(
                self.sequencer
                    .enter(format!("{}:{}", send.organization_id, send.to)),
            ),
            Err(_) => None,
        };
        let outbound = self.clone();
        async move {
            let settle = match (parsed, turn) {
                (Ok(Command::SendV1(send)), Some(mut turn)) => {
                    turn.ready().await;
                    outbound.process(&send).await
                }
                (Err(error), _) => Settle::DeadLetter(format!("malformed command: {error}")),
                (Ok(_), None) => unreachable!("a parsed command always has a turn"),
            };
            outbound.settle(delivery, settle).await;
        }
    }
}

impl Outbound {
    async fn process(&self, send: &Outgoing) -> Settle {
        let organization = match ledger::organization(&self.pool, send).await {
            Ok(Some(organization)) => organization,
            Ok(None) => {
                return Settle::DeadLetter(format!(
                    "unknown organization {}",
                    send.organization_id
                ));
            }
            Err(error) => {
                tracing::warn!(%error, command_id = %send.command_id, "cannot read the organization; putting the send off");
                return Settle::Defer;
            }
        };
        if let Message::ReadReceipt { .. } = send.message {
            return self.read_receipt(send, &organization).await;
        }
        let message_id = match ledger::claim(&self.pool, send, self.limits.lease).await {
            Ok(Claim::Claimed { message_id }) => message_id,
            Ok(Claim::Settled) => {
                tracing::info!(command_id = %send.command_id, "already sent or failed; not sending again");
                self.metrics.count("duplicate");
                return Settle::Ack;
            }
            Ok(Claim::Busy) => return Settle::Defer,
            Err(LedgerError::ForeignConversation(conversation)) => {
                return Settle::DeadLetter(format!(
                    "conversation {conversation} does not belong to organization {}",
                    send.organization_id
                ));
            }
            Err(error) => {
                tracing::warn!(%error, command_id = %send.command_id, "cannot claim the send; putting it off");
                return Settle::Defer;
            }
        };
        let settle = self.deliver(send, &organization, message_id).await;
        match settle {
            Ok(settle) => settle,
            Err(error) => {
                tracing::warn!(%error, command_id = %send.command_id, "cannot record the send's state; putting it off");
                let _ = ledger::release(&self.pool, message_id).await;
                Settle::Defer
            }
        }
    }

    async fn deliver(
        &self,
        send: &Outgoing,
        organization: &Organization,
        message_id: uuid::Uuid,
    ) -> Result<Settle, LedgerError> {
        let fail = |reason: FailureReason, code: Option<i64>, detail: String, attempted: bool| async move {
            tracing::info!(command_id = %send.command_id, reason = reason.as_str(), %detail, "send failed");
            ledger::failed(
                &self.pool, message_id, send, reason, code, &detail, attempted,
            )
            .await?;
            self.metrics.count(failed_outcome(reason));
            Ok::<_, LedgerError>(Settle::Ack)
        };
        if organization.suspended {
            return fail(
                FailureReason::Rejected,
                None,
                "the organization is suspended".into(),
                false,
            )
            .await;
        }
        let (Some(phone_number_id), Some(sealed), false) = (
            &organization.phone_number_id,
            &organization.token,
            organization.paused,
        ) else {
            // Parked only if, under the organization's row lock, it still can't send: a
            // token stored meanwhile has had its parked sends resumed already.
            if ledger::park(&self.pool, message_id, send.organization_id).await? {
                tracing::info!(command_id = %send.command_id, "organization cannot send until a token is stored; parked");
                self.metrics.count("paused");
                return Ok(Settle::Ack);
            }
            ledger::release(&self.pool, message_id).await?;
            return Ok(Settle::Defer);
        };
        let token = match self.keyring.open(
            &sealed.key_id,
            &sealed.ciphertext,
            send.organization_id.as_bytes(),
        ) {
            Ok(token) => Secret::new(String::from_utf8_lossy(&token)),
            Err(error) => {
                // A configuration fault (a key removed too early): wait for the operator.
                tracing::error!(%error, organization_id = %send.organization_id, "cannot open the access token");
                ledger::release(&self.pool, message_id).await?;
                return Ok(Settle::Defer);
            }
        };
        if let Err(invalid) = send.message.validate() {
            return fail(FailureReason::InvalidMessage, None, invalid.0, false).await;
        }
        // The fallback is checked only when it is used: a bad fallback must not stop a
        // message that can go as it is.
        let fallback = send.fallback.as_ref().map(|t| Message::Template(t.clone()));
        let check_fallback = |template: &Message| {
            template
                .validate()
                .map_err(|invalid| format!("fallback template: {}", invalid.0))
        };
        let mut message = &send.message;
        let mut on_fallback = false;
        if message.is_free_form() && !organization.window_open {
            match &fallback {
                Some(template) => {
                    if let Err(detail) = check_fallback(template) {
                        return fail(FailureReason::InvalidMessage, None, detail, false).await;
                    }
                    message = template;
                    on_fallback = true;
                }
                None => {
                    let detail = "the recipient has not written in the last 24 hours".to_string();
                    return fail(FailureReason::OutsideWindow, None, detail, false).await;
                }
            }
        }
        loop {
            let number = Pace::per_second(
                organization
                    .messages_per_second
                    .unwrap_or(self.limits.number_rate),
                self.limits.number_burst,
            );
            if !self
                .wait_turn(phone_number_id, number, Some((&send.to, self.limits.pair)))
                .await
            {
                ledger::release(&self.pool, message_id).await?;
                return Ok(Settle::Defer);
            }
            let body = payload::body(&send.to, send.reply_to.as_deref(), message);
            let started = std::time::Instant::now();
            let sent = self.graph.send(phone_number_id, &token, &body).await;
            self.metrics
                .graph_seconds
                .observe(started.elapsed().as_secs_f64());
            let error = match sent {
                Ok(accepted) => {
                    // Meta has the message now: losing this write, or giving the lease back
                    // before it is written, would send it twice. So it is retried in place
                    // through a database outage; if that outlasts the patience, the command
                    // is put off with the lease kept, and only its expiry (a dead worker's
                    // case) lets the message go again.
                    let recorded = ledger::persist(RECORD_PATIENCE, || {
                        ledger::sent(&self.pool, message_id, &accepted.message_id, message)
                    })
                    .await;
                    if let Err(error) = recorded {
                        tracing::error!(%error, command_id = %send.command_id, wa_message_id = %accepted.message_id, "sent, but cannot record it");
                        return Ok(Settle::Defer);
                    }
                    tracing::debug!(command_id = %send.command_id, wa_message_id = %accepted.message_id, "sent");
                    self.metrics.count("sent");
                    return Ok(Settle::Ack);
                }
                Err(error) => error,
            };
            match error.class() {
                Class::OutsideWindow if !on_fallback && fallback.is_some() => {
                    let template = fallback.as_ref().expect("checked above");
                    if let Err(detail) = check_fallback(template) {
                        return fail(FailureReason::InvalidMessage, error.code(), detail, true)
                            .await;
                    }
                    tracing::info!(command_id = %send.command_id, "Meta says the window is closed; sending the fallback template");
                    message = template;
                    on_fallback = true;
                    continue;
                }
                Class::TokenInvalid => {
                    let paused = ledger::token_refused(
                        &self.pool,
                        message_id,
                        send.organization_id,
                        phone_number_id,
                        &sealed.ciphertext,
                        &error.to_string(),
                    )
                    .await?;
                    if paused {
                        tracing::warn!(organization_id = %send.organization_id, %error, "Meta refused the access token; the organization's sends are paused");
                        self.metrics.count("paused");
                        return Ok(Settle::Ack);
                    }
                    // Refused an old token: a new one was stored meanwhile; try again with it.
                    return Ok(Settle::Defer);
                }
                Class::Throttled => {
                    // Over Meta's limits means later, never dropped: no attempt is spent.
                    ledger::throttled(&self.pool, message_id, error.code(), &error.to_string())
                        .await?;
                    tracing::info!(command_id = %send.command_id, %error, "throttled by Meta; sending later");
                    return Ok(Settle::Defer);
                }
                Class::Retryable => return self.retry(send, message_id, &error).await,
                Class::OutsideWindow | Class::Permanent => {
                    let reason = match error.class() {
                        Class::OutsideWindow => FailureReason::OutsideWindow,
                        _ => FailureReason::Rejected,
                    };
                    return fail(reason, error.code(), error.to_string(), true).await;
                }
            }
        }
    }

    async fn retry(
        &self,
        send: &Outgoing,
        message_id: uuid::Uuid,
        error: &GraphError,
    ) -> Result<Settle, LedgerError> {
        let detail = error.to_string();
        let attempts =
            ledger::attempt_failed(&self.pool, message_id, error.code(), &detail).await?;
        if attempts < self.limits.max_attempts {
            tracing::info!(command_id = %send.command_id, attempts, %error, "retryable failure; retrying later");
            self.metrics.count("retried");
            return Ok(Settle::Retry { attempt: attempts });
        }
        let reason = format!("retries exhausted after {attempts} attempts: {detail}");
        ledger::failed(
            &self.pool,
            message_id,
            send,
            FailureReason::RetriesExhausted,
            error.code(),
            &reason,
            false,
        )
        .await?;
        self.metrics
            .count(failed_outcome(FailureReason::RetriesExhausted));
        Ok(Settle::DeadLetter(reason))
    }

    /// Read receipts are not recorded and not retried: they only matter for a few
    /// seconds, and the next receipt or reply supersedes them.
    async fn read_receipt(&self, send: &Outgoing, organization: &Organization) -> Settle {
        let (Some(phone_number_id), Some(sealed), false, false) = (
            &organization.phone_number_id,
            &organization.token,
            organization.paused,
            organization.suspended,
        ) else {
            self.metrics.count("read_failed");
            return Settle::Ack;
        };
        let Ok(token) = self.keyring.open(
            &sealed.key_id,
            &sealed.ciphertext,
            send.organization_id.as_bytes(),
        ) else {
            self.metrics.count("read_failed");
            return Settle::Ack;
        };
        let number = Pace::per_second(
            organization
                .messages_per_second
                .unwrap_or(self.limits.number_rate),
            self.limits.number_burst,
        );
        if !self.wait_turn(phone_number_id, number, None).await {
            self.metrics.count("read_failed");
            return Settle::Ack;
        }
        let body = payload::body(&send.to, None, &send.message);
        let token = Secret::new(String::from_utf8_lossy(&token));
        match self.graph.mark_read(phone_number_id, &token, &body).await {
            Ok(()) => self.metrics.count("read"),
            Err(error) => {
                tracing::info!(%error, command_id = %send.command_id, "read receipt failed; not retried");
                self.metrics.count("read_failed");
            }
        }
        Settle::Ack
    }

    /// Waits for a turn under the rate limits. False when the turn is too far away to
    /// wait for in place. With Redis down, sends go unpaced (Meta's 130429 and 131056
    /// then come back as retryable errors) rather than stopping altogether.
    async fn wait_turn(
        &self,
        phone_number_id: &str,
        number: Pace,
        pair: Option<(&str, Pace)>,
    ) -> bool {
        let Some(pacer) = self.pacer.get() else {
            return true;
        };
        match pacer.turn(phone_number_id, number, pair).await {
            Ok(waited) => {
                self.metrics.paced_seconds.inc_by(waited.as_secs_f64());
                true
            }
            Err(PacingError::Later(_)) => false,
            Err(PacingError::Redis(error)) => {
                tracing::warn!(%error, "rate limiter unavailable; sending unpaced");
                true
            }
        }
    }

    async fn settle(&self, delivery: Delivery, settle: Settle) {
        let acked = match settle {
            Settle::Ack => delivery.ack(BasicAckOptions::default()).await.map(drop),
            Settle::DeadLetter(reason) => {
                tracing::warn!(%reason, "send command dead-lettered");
                self.metrics.count("dead_lettered");
                match consumer::dead_letter(
                    &self.publisher,
                    &self.topology,
                    OUTBOUND_SEND,
                    &delivery,
                    &reason,
                )
                .await
                {
                    DeadLettered::Copied => {
                        delivery.ack(BasicAckOptions::default()).await.map(drop)
                    }
                    DeadLettered::Rejected => Ok(()),
                }
            }
            Settle::Retry { attempt } => self.requeue_after(&delivery, attempt, None).await,
            Settle::Defer => {
                self.metrics.count("deferred");
                let deferrals = deferrals(&delivery) + 1;
                self.requeue_after(&delivery, deferrals, Some(deferrals))
                    .await
            }
        };
        if let Err(error) = acked {
            tracing::warn!(%error, "cannot settle a send command; it will be redelivered");
        }
    }

    /// Publishes a copy to the retry tier for `n`, then acks the original. If the copy
    /// can't be published, the original goes back to the queue instead.
    async fn requeue_after(
        &self,
        delivery: &Delivery,
        n: u32,
        deferrals: Option<u32>,
    ) -> Result<(), lapin::Error> {
        let mut properties = delivery.properties.clone();
        if let Some(deferrals) = deferrals {
            let mut headers = properties.headers().clone().unwrap_or_default();
            headers.insert(DEFERRALS_HEADER.into(), AMQPValue::LongUInt(deferrals));
            properties = properties.with_headers(headers);
        }
        let tier = self.topology.name(retry_tier(n).queue);
        match self
            .publisher
            .publish("", &tier, &delivery.data, properties)
            .await
        {
            Ok(()) => delivery.ack(BasicAckOptions::default()).await.map(drop),
            Err(error) => {
                tracing::warn!(%error, "cannot schedule a retry; requeueing the command");
                delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
                    .map(drop)
            }
        }
    }
}

fn deferrals(delivery: &Delivery) -> u32 {
    let headers: Option<&FieldTable> = delivery.properties.headers().as_ref();
    match headers.and_then(|h| h.inner().get(DEFERRALS_HEADER)) {
        Some(AMQPValue::LongUInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => (*n).max(0) as u32,
        _ => 0,
    }
}

fn failed_outcome(reason: FailureReason) -> &'static str {
    match reason {
        FailureReason::OutsideWindow => "failed_outside_window",
        FailureReason::InvalidMessage => "failed_invalid_message",
        FailureReason::Rejected => "failed_rejected",
        FailureReason::RetriesExhausted => "failed_retries_exhausted",
    }
}
