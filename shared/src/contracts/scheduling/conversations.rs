//! A person of the business in a customer's conversation: taking it from the assistant,
//! giving it back, and writing to the customer under WhatsApp's 24-hour rule.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Actor;
use crate::contracts::outbound::Outgoing;

/// The assistant goes silent in the conversation for the organization's handoff time
/// (each reply of the person extends it), or until it is released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakeOverRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub conversation_id: Uuid,
}

/// Gives a handed-off conversation back to the assistant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub conversation_id: Uuid,
}

/// A message from a person of the business to the customer. Free text only while the
/// customer's 24-hour window is open ([`super::SchedulingError::OutsideWindow`] otherwise);
/// a template at any time. Writing takes the conversation over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub conversation_id: Uuid,
    pub content: ReplyContent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyContent {
    Text {
        body: String,
    },
    /// One of [`WINDOW_TEMPLATES`], filled in by scheduling.
    Template {
        name: String,
    },
}

/// The templates a person may send when the window is closed: `window_fallback` asks the
/// customer to answer, which opens the window again (one parameter: the business's name).
pub const WINDOW_TEMPLATES: [&str; 1] = ["window_fallback"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    pub id: Uuid,
    /// `active` (the assistant answers) or `handed_off`.
    pub status: String,
    /// `None` while handed off: until released.
    pub handed_off_until: Option<Timestamp>,
    pub handoff_reason: Option<String>,
    /// The customer's last message: the 24-hour window runs from here.
    pub last_inbound_at: Option<Timestamp>,
}

/// An accepted reply: the conversation after it, and the send command the caller
/// publishes to `outbound.send`. A repeated idempotency key returns the same command, so
/// publishing it again sends nothing twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedReply {
    pub conversation: ConversationState,
    pub send: Outgoing,
}
