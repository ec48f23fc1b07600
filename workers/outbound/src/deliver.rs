//! A claimed send, from the organization's state to Meta's answer and its record.
//! `Ok(None)` means "put it off" (the caller picks the delay); `Ok(Some(_))` is how the
//! delivery settles.

use std::time::Duration;

use cita_shared::{
    amqp::{Settlement, topology::retry_tier},
    contracts::{
        events::FailureReason,
        outbound::{Message, Outgoing},
    },
    error::Chain,
    retry::{self, GaveUp},
};
use uuid::Uuid;

use crate::{
    graph::{Class, GraphError},
    ledger::{self, Failure, LedgerError, Organization},
    payload,
    sender::Outbound,
};

/// How long a send Meta accepted waits in place for the database to record it.
const RECORD_PATIENCE: Duration = Duration::from_secs(600);

fn failure(reason: FailureReason, code: Option<i64>, detail: String, attempted: bool) -> Failure {
    Failure {
        reason,
        code,
        detail,
        attempted,
    }
}

impl Outbound {
    pub(crate) async fn deliver(
        &self,
        send: &Outgoing,
        organization: &Organization,
        message_id: Uuid,
    ) -> Result<Option<Settlement>, LedgerError> {
        if organization.suspended {
            let detail = "the organization is suspended".to_string();
            let failed = failure(FailureReason::Rejected, None, detail, false);
            return self.fail(send, message_id, failed).await;
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
                return Ok(Some(Settlement::Ack));
            }
            ledger::release(&self.pool, message_id).await?;
            return Ok(None);
        };
        let Some(token) = self.token(organization, send) else {
            // A configuration fault: wait for the operator.
            ledger::release(&self.pool, message_id).await?;
            return Ok(None);
        };
        if let Err(invalid) = send.message.validate() {
            let failed = failure(FailureReason::InvalidMessage, None, invalid.0, false);
            return self.fail(send, message_id, failed).await;
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
                        let failed = failure(FailureReason::InvalidMessage, None, detail, false);
                        return self.fail(send, message_id, failed).await;
                    }
                    message = template;
                    on_fallback = true;
                }
                None => {
                    let detail = "the recipient has not written in the last 24 hours".to_string();
                    let failed = failure(FailureReason::OutsideWindow, None, detail, false);
                    return self.fail(send, message_id, failed).await;
                }
            }
        }
        loop {
            let pair = Some((send.to.as_str(), self.limits.pair));
            if !self
                .wait_turn(phone_number_id, self.number_pace(organization), pair)
                .await
            {
                ledger::release(&self.pool, message_id).await?;
                return Ok(None);
            }
            let body = payload::body(&send.to, send.reply_to.as_deref(), message);
            let started = std::time::Instant::now();
            let sent = self.graph.send(phone_number_id, &token, &body).await;
            self.metrics
                .graph_seconds
                .observe(started.elapsed().as_secs_f64());
            let error = match sent {
                Ok(accepted) => {
                    return Ok(self
                        .record_sent(send, message_id, &accepted.message_id, message)
                        .await);
                }
                Err(error) => error,
            };
            match error.class() {
                Class::OutsideWindow if !on_fallback && fallback.is_some() => {
                    let template = fallback.as_ref().expect("checked above");
                    if let Err(detail) = check_fallback(template) {
                        let failed =
                            failure(FailureReason::InvalidMessage, error.code(), detail, true);
                        return self.fail(send, message_id, failed).await;
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
                        self.clock.now(),
                    )
                    .await?;
                    if paused {
                        tracing::warn!(organization_id = %send.organization_id, %error, "Meta refused the access token; the organization's sends are paused");
                        self.metrics.count("paused");
                        return Ok(Some(Settlement::Ack));
                    }
                    // Refused an old token: a new one was stored meanwhile; try again with it.
                    return Ok(None);
                }
                Class::Throttled => {
                    // Over Meta's limits means later, never dropped: no attempt is spent.
                    ledger::throttled(&self.pool, message_id, error.code(), &error.to_string())
                        .await?;
                    tracing::info!(command_id = %send.command_id, %error, "throttled by Meta; sending later");
                    return Ok(None);
                }
                Class::Retryable => return self.retry(send, message_id, &error).await.map(Some),
                Class::OutsideWindow | Class::Permanent => {
                    let reason = match error.class() {
                        Class::OutsideWindow => FailureReason::OutsideWindow,
                        _ => FailureReason::Rejected,
                    };
                    let failed = failure(reason, error.code(), error.to_string(), true);
                    return self.fail(send, message_id, failed).await;
                }
            }
        }
    }

    /// Meta has the message now: losing this write, or giving the lease back before it
    /// is written, would send it twice. So it is retried in place through a database
    /// outage; if that outlasts the patience (or the process stops), the command is put
    /// off with the lease kept, and only its expiry (a dead worker's case) lets the
    /// message go again. A write the database refuses for good (a constraint) can never
    /// be recorded: the command is dead-lettered with the database's words, and the
    /// lease keeps it from going out again.
    async fn record_sent(
        &self,
        send: &Outgoing,
        message_id: Uuid,
        wa_message_id: &str,
        message: &Message,
    ) -> Option<Settlement> {
        let recorded =
            retry::patiently(RECORD_PATIENCE, &self.shutdown, "recording a send", || {
                ledger::sent(
                    &self.pool,
                    message_id,
                    wa_message_id,
                    message,
                    self.clock.now(),
                )
            })
            .await;
        match recorded {
            Ok(()) => {
                tracing::debug!(command_id = %send.command_id, %wa_message_id, "sent");
                self.metrics.count("sent");
                Some(Settlement::Ack)
            }
            Err(GaveUp::Permanent(error)) => {
                let reason = format!(
                    "sent as {wa_message_id}, but cannot record it: {}",
                    Chain(&error)
                );
                tracing::error!(command_id = %send.command_id, %reason, "a send Meta accepted cannot be recorded");
                Some(Settlement::DeadLetter(reason))
            }
            Err(GaveUp::Exhausted(_) | GaveUp::Stopped) => {
                tracing::error!(command_id = %send.command_id, %wa_message_id, "sent, but cannot record it yet; the lease keeps it from going out again");
                None
            }
        }
    }

    async fn retry(
        &self,
        send: &Outgoing,
        message_id: Uuid,
        error: &GraphError,
    ) -> Result<Settlement, LedgerError> {
        let detail = error.to_string();
        let attempts =
            ledger::attempt_failed(&self.pool, message_id, error.code(), &detail).await?;
        if attempts < self.limits.max_attempts {
            tracing::info!(command_id = %send.command_id, attempts, %error, "retryable failure; retrying later");
            self.metrics.count("retried");
            return Ok(Settlement::later(retry_tier(attempts)));
        }
        let reason = format!("retries exhausted after {attempts} attempts: {detail}");
        let failed = failure(
            FailureReason::RetriesExhausted,
            error.code(),
            reason.clone(),
            false,
        );
        self.fail(send, message_id, failed).await?;
        Ok(Settlement::DeadLetter(reason))
    }
}
