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
//! 6. call Meta and record the outcome ([`deliver`](crate::deliver)): sent; retryable →
//!    a retry tier, until the attempts run out (then failed and the dead queue);
//!    131047 → the fallback template; 190 → organization paused; anything else → failed.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    amqp::{Handler, Settlement, settle::counter_header, topology::retry_tier},
    clock::Clock,
    contracts::{
        events::FailureReason,
        outbound::{Command, Message, Outgoing},
    },
    crypto::Keyring,
    error::Chain,
    secret::Secret,
};
use deadpool_postgres::Pool;
use lapin::{Channel, message::Delivery, types::AMQPValue};
use tokio_util::sync::CancellationToken;

use crate::{
    graph::GraphClient,
    ledger::{self, Claim, LedgerError, Organization},
    metrics::Metrics,
    pacing::{Pace, Pacer, PacingError},
    payload,
    sequencer::{Sequencer, Turn},
};

/// Counts how often a command was put off (busy elsewhere, rate limited, a dependency
/// down); it picks the delay tier, and is no attempt at Meta.
const DEFERRALS_HEADER: &str = "x-cita-deferrals";

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
    pub limits: Limits,
    pub sequencer: Arc<Sequencer>,
    pub metrics: Metrics,
    pub clock: Clock,
    /// Ends the wait for the database after Meta accepted a send (the process stops).
    pub shutdown: CancellationToken,
}

/// A delivery as admitted: its command, with its place in the recipient's line.
pub type Admitted = Result<(Outgoing, Turn), String>;

impl Handler for Outbound {
    /// Every failure is settled here (put off, parked, failed): nothing is left for the
    /// consumer to classify.
    type Error = std::convert::Infallible;
    type Admission = Admitted;

    /// The line is entered now, in consumption order, so messages to one recipient keep
    /// their order.
    fn admit(&self, delivery: &Delivery) -> Admitted {
        match serde_json::from_slice::<Command>(&delivery.data) {
            Ok(Command::SendV1(send)) => {
                let turn = self
                    .sequencer
                    .enter(format!("{}:{}", send.organization_id, send.to));
                Ok((send, turn))
            }
            Err(error) => Err(format!("malformed command: {error}")),
        }
    }

    async fn attempt(
        &self,
        delivery: &Delivery,
        admitted: &Admitted,
        _: &Channel,
    ) -> Result<Settlement, Self::Error> {
        let settlement = match admitted {
            Ok((send, turn)) => {
                turn.ready().await;
                self.process(send, counter_header(delivery, DEFERRALS_HEADER))
                    .await
            }
            Err(reason) => Settlement::DeadLetter(reason.clone()),
        };
        if let Settlement::DeadLetter(_) = settlement {
            self.metrics.count("dead_lettered");
        }
        Ok(settlement)
    }
}

impl Outbound {
    async fn process(&self, send: &Outgoing, deferrals: u32) -> Settlement {
        let organization = match ledger::organization(&self.pool, send).await {
            Ok(Some(organization)) => organization,
            Ok(None) => {
                return Settlement::DeadLetter(format!(
                    "unknown organization {}",
                    send.organization_id
                ));
            }
            Err(error) => {
                tracing::warn!(error = %Chain(&error), command_id = %send.command_id, "cannot read the organization; putting the send off");
                return self.defer(deferrals);
            }
        };
        if let Message::ReadReceipt { .. } = send.message {
            self.read_receipt(send, &organization).await;
            return Settlement::Ack;
        }
        let message_id = match ledger::claim(&self.pool, send, self.limits.lease).await {
            Ok(Claim::Claimed { message_id }) => message_id,
            Ok(Claim::Settled) => {
                tracing::info!(command_id = %send.command_id, "already sent or failed; not sending again");
                self.metrics.count("duplicate");
                return Settlement::Ack;
            }
            Ok(Claim::Busy) => return self.defer(deferrals),
            Err(LedgerError::ForeignConversation(conversation)) => {
                return Settlement::DeadLetter(format!(
                    "conversation {conversation} does not belong to organization {}",
                    send.organization_id
                ));
            }
            Err(error) => {
                tracing::warn!(error = %Chain(&error), command_id = %send.command_id, "cannot claim the send; putting it off");
                return self.defer(deferrals);
            }
        };
        match self.deliver(send, &organization, message_id).await {
            Ok(Some(settlement)) => settlement,
            Ok(None) => self.defer(deferrals),
            Err(error) => {
                tracing::warn!(error = %Chain(&error), command_id = %send.command_id, "cannot record the send's state; putting it off");
                let _ = ledger::release(&self.pool, message_id).await;
                self.defer(deferrals)
            }
        }
    }

    /// Put off without spending an attempt: back through the retry tier of its deferrals.
    fn defer(&self, deferrals: u32) -> Settlement {
        self.metrics.count("deferred");
        let deferrals = deferrals + 1;
        Settlement::Later {
            tier: retry_tier(deferrals),
            body: None,
            headers: vec![(DEFERRALS_HEADER, AMQPValue::LongUInt(deferrals))],
        }
    }

    /// Records a final failure; the command is done with.
    pub(crate) async fn fail(
        &self,
        send: &Outgoing,
        message_id: uuid::Uuid,
        failure: ledger::Failure,
    ) -> Result<Option<Settlement>, LedgerError> {
        tracing::info!(command_id = %send.command_id, reason = failure.reason.as_str(), detail = %failure.detail, "send failed");
        ledger::failed(&self.pool, message_id, send, &failure, self.clock.now()).await?;
        self.metrics.count(failed_outcome(failure.reason));
        Ok(Some(Settlement::Ack))
    }

    /// The access token, opened; `None` when it does not open (a key removed too early:
    /// a configuration fault the operator must fix).
    pub(crate) fn token(&self, organization: &Organization, send: &Outgoing) -> Option<Secret> {
        let sealed = organization.token.as_ref()?;
        match self.keyring.open(
            &sealed.key_id,
            &sealed.ciphertext,
            send.organization_id.as_bytes(),
        ) {
            Ok(token) => Some(Secret::new(String::from_utf8_lossy(&token))),
            Err(error) => {
                tracing::error!(%error, organization_id = %send.organization_id, "cannot open the access token");
                None
            }
        }
    }

    /// The organization's own throughput, else the fleet's.
    pub(crate) fn number_pace(&self, organization: &Organization) -> Pace {
        Pace::per_second(
            organization
                .messages_per_second
                .unwrap_or(self.limits.number_rate),
            self.limits.number_burst,
        )
    }

    /// Read receipts are not recorded and not retried: they only matter for a few
    /// seconds, and the next receipt or reply supersedes them.
    async fn read_receipt(&self, send: &Outgoing, organization: &Organization) {
        let (Some(phone_number_id), false, false) = (
            &organization.phone_number_id,
            organization.paused,
            organization.suspended,
        ) else {
            self.metrics.count("read_failed");
            return;
        };
        let Some(token) = self.token(organization, send) else {
            self.metrics.count("read_failed");
            return;
        };
        if !self
            .wait_turn(phone_number_id, self.number_pace(organization), None)
            .await
        {
            self.metrics.count("read_failed");
            return;
        }
        let body = payload::body(&send.to, None, &send.message);
        match self.graph.mark_read(phone_number_id, &token, &body).await {
            Ok(()) => self.metrics.count("read"),
            Err(error) => {
                tracing::info!(%error, command_id = %send.command_id, "read receipt failed; not retried");
                self.metrics.count("read_failed");
            }
        }
    }

    /// Waits for a turn under the rate limits. False when the turn is too far away to
    /// wait for in place. With Redis down, sends go unpaced (Meta's 130429 and 131056
    /// then come back as retryable errors) rather than stopping altogether.
    pub(crate) async fn wait_turn(
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
}

fn failed_outcome(reason: FailureReason) -> &'static str {
    match reason {
        FailureReason::OutsideWindow => "failed_outside_window",
        FailureReason::InvalidMessage => "failed_invalid_message",
        FailureReason::Rejected => "failed_rejected",
        FailureReason::RetriesExhausted => "failed_retries_exhausted",
    }
}
