//! Time nobody can book: a staff member's block or days off, the business's closures and
//! holidays.

use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Actor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeOffKind {
    /// Part of a day ("de 2 a 3, comida"), made by `BlockTime`.
    Block,
    /// A staff member's days off.
    TimeOff,
    /// The business (or one member) is closed: an event, a repair.
    Closure,
    /// A public holiday.
    Holiday,
}

impl TimeOffKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeOffKind::Block => "block",
            TimeOffKind::TimeOff => "time_off",
            TimeOffKind::Closure => "closure",
            TimeOffKind::Holiday => "holiday",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            TimeOffKind::Block,
            TimeOffKind::TimeOff,
            TimeOffKind::Closure,
            TimeOffKind::Holiday,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }
}

/// Whole local days off, `from` to `to` inclusive: the business's (no `staff_id`, owner
/// only) or one staff member's (themselves, or others with `manage_appointments`).
/// `kind` is `time_off`, `closure` or `holiday`; a block is `BlockTime`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddClosureRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub staff_id: Option<Uuid>,
    pub kind: TimeOffKind,
    pub from: Date,
    pub to: Date,
    pub reason: Option<String>,
}

/// Removes a block, days off, a closure or a holiday, under the rules that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoveTimeOffRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub time_off_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeOff {
    pub id: Uuid,
    /// `None`: the whole business.
    pub staff_id: Option<Uuid>,
    pub kind: TimeOffKind,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reason: Option<String>,
}
