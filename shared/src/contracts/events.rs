//! Domain events on `cita.events`, written to the outbox in the transaction that caused
//! them and published after commit. Consumers deduplicate on `event_id`.

use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    outbound::Purpose,
    scheduling::{Actor, Appointment, Deposit, HoldOutcome, Status, TimeOff},
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub event_id: Uuid,
    pub organization_id: Uuid,
    pub occurred_at: Timestamp,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "appointment.booked")]
    AppointmentBooked {
        appointment: Appointment,
        actor: Actor,
    },
    /// A customer's booking waits for the owner, or for its `deposit`: `pending` until
    /// `hold_expires_at`.
    #[serde(rename = "appointment.held")]
    AppointmentHeld {
        appointment: Appointment,
        actor: Actor,
        #[serde(default)]
        deposit: Option<Deposit>,
    },
    /// A payment that did not confirm its hold as it came: the owner is told, and the
    /// customer too when the money is owed back.
    #[serde(rename = "appointment.deposit_issue")]
    DepositIssue {
        appointment: Appointment,
        deposit: Deposit,
        issue: DepositIssue,
    },
    /// The link that pays a hold's deposit is ready to be sent to the customer.
    #[serde(rename = "appointment.deposit_requested")]
    DepositRequested {
        appointment: Appointment,
        deposit: Deposit,
        link: String,
    },
    /// A hold was rejected (`actor` is who) or ran out; its time is free. An approved
    /// hold is `appointment.booked` instead.
    #[serde(rename = "appointment.hold_ended")]
    HoldEnded {
        appointment: Appointment,
        outcome: HoldOutcome,
        actor: Option<Actor>,
    },
    #[serde(rename = "appointment.cancelled")]
    AppointmentCancelled {
        appointment: Appointment,
        actor: Actor,
    },
    #[serde(rename = "appointment.rescheduled")]
    AppointmentRescheduled {
        appointment: Appointment,
        previous_starts_at: Timestamp,
        previous_staff_id: Uuid,
        actor: Actor,
    },
    #[serde(rename = "appointment.status_changed")]
    AppointmentStatusChanged {
        appointment: Appointment,
        previous: Status,
        actor: Actor,
    },
    /// A block, days off, a closure or a holiday was made, or taken away (`removed`).
    #[serde(rename = "time_off.changed")]
    TimeOffChanged {
        time_off: TimeOff,
        removed: bool,
        actor: Actor,
    },
    /// Someone joined the team (or came back to it): they are welcomed by WhatsApp.
    #[serde(rename = "organization.staff_added")]
    StaffAdded {
        staff_id: Uuid,
        name: String,
        actor: Actor,
    },
    /// The free plan's monthly quota ran out; sent once per organization and month.
    #[serde(rename = "organization.quota_exceeded")]
    QuotaExceeded { month: Date, limit: u32 },
    /// Meta refused the organization's access token; its sends are paused until the
    /// owner reconnects WhatsApp. Published once per loss of the token.
    #[serde(rename = "organization.token_invalid")]
    TokenInvalid {
        phone_number_id: String,
        detail: String,
    },
    /// A conversation was handed to a person; the assistant stays silent there until
    /// staff release it or `until` passes.
    #[serde(rename = "conversation.handed_off")]
    ConversationHandedOff {
        conversation_id: Uuid,
        customer_id: Option<Uuid>,
        /// The counterpart's WhatsApp id, shown when there is no name.
        wa_id: String,
        customer_name: Option<String>,
        reason: String,
        until: Option<Timestamp>,
    },
    /// A person took a customer's conversation from the assistant, or gave it back.
    #[serde(rename = "conversation.changed")]
    ConversationChanged {
        conversation_id: Uuid,
        /// `active` or `handed_off`.
        status: String,
        handed_off_until: Option<Timestamp>,
        actor: Actor,
    },
    /// A customer wrote; its text is in the transcript, not here.
    #[serde(rename = "message.received")]
    MessageReceived {
        conversation_id: Uuid,
        message_id: Uuid,
        customer_id: Uuid,
        content_kind: String,
        /// The assistant will not answer it: a person has the conversation.
        handed_off: bool,
    },
    /// A message to a conversation's counterpart (the assistant's, a person's, a
    /// reminder) moved on: `sent`, `delivered`, `read` or `failed`. Its ticks, live.
    #[serde(rename = "message.status")]
    MessageStatus {
        conversation_id: Uuid,
        message_id: Uuid,
        status: String,
    },
    /// An outbound message will not be delivered.
    #[serde(rename = "message.failed")]
    MessageFailed {
        /// The `messages` row.
        message_id: Uuid,
        command_id: Uuid,
        conversation_id: Option<Uuid>,
        to: String,
        purpose: Purpose,
        reason: FailureReason,
        /// Meta's error code, when Meta refused it.
        error_code: Option<i64>,
        detail: String,
    },
}

/// Why an outbound message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The 24-hour window is closed and no fallback template was given.
    OutsideWindow,
    /// The message breaks WhatsApp's limits; it was never sent.
    InvalidMessage,
    /// Meta refused it for good (undeliverable, bad template, …).
    Rejected,
    /// Meta kept failing in a retryable way until the attempts ran out.
    RetriesExhausted,
}

/// What went wrong with a deposit's payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DepositIssue {
    /// Paid, but not the amount or currency asked: the hold still waits.
    AmountMismatch {
        paid_minor: i64,
        paid_currency: String,
    },
    /// Paid after the hold ended, and its time was taken meanwhile: owed back.
    RefundDue,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::OutsideWindow => "outside_window",
            FailureReason::InvalidMessage => "invalid_message",
            FailureReason::Rejected => "rejected",
            FailureReason::RetriesExhausted => "retries_exhausted",
        }
    }
}

impl Event {
    /// The routing key on `cita.events`: the same string as the `type` tag.
    pub fn routing_key(&self) -> &'static str {
        match self {
            Event::AppointmentBooked { .. } => "appointment.booked",
            Event::AppointmentHeld { .. } => "appointment.held",
            Event::DepositRequested { .. } => "appointment.deposit_requested",
            Event::DepositIssue { .. } => "appointment.deposit_issue",
            Event::HoldEnded { .. } => "appointment.hold_ended",
            Event::AppointmentCancelled { .. } => "appointment.cancelled",
            Event::AppointmentRescheduled { .. } => "appointment.rescheduled",
            Event::AppointmentStatusChanged { .. } => "appointment.status_changed",
            Event::TimeOffChanged { .. } => "time_off.changed",
            Event::StaffAdded { .. } => "organization.staff_added",
            Event::QuotaExceeded { .. } => "organization.quota_exceeded",
            Event::TokenInvalid { .. } => "organization.token_invalid",
            Event::ConversationHandedOff { .. } => "conversation.handed_off",
            Event::ConversationChanged { .. } => "conversation.changed",
            Event::MessageReceived { .. } => "message.received",
            Event::MessageStatus { .. } => "message.status",
            Event::MessageFailed { .. } => "message.failed",
        }
    }
}
