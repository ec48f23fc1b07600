//! `conversation.turns`: a conversation has inbound messages waiting for the assistant.
//! The messages themselves stay in PostgreSQL; the command only says where to look, so a
//! duplicate or stale command is harmless (the turn finds nothing to answer).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "schema")]
pub enum TurnCommand {
    #[serde(rename = "turn.v1")]
    TurnV1(Turn),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub organization_id: Uuid,
    pub conversation_id: Uuid,
    /// How many times this turn has failed on the model before (0 for a new turn).
    #[serde(default)]
    pub attempt: u32,
}
