//! Appointments as scheduling answers them: their status, where they came from, and
//! holds — bookings that wait for the owner and expire on their own.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Actor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub customer_id: Uuid,
    pub staff_id: Uuid,
    pub service_type_id: Uuid,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub status: Status,
    pub source: Source,
    pub notes: Option<String>,
    pub cancellation_reason: Option<String>,
    /// A hold (`pending`) is freed at this instant unless it was approved first; kept
    /// afterwards as the record of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Confirmed,
    Completed,
    Cancelled,
    NoShow,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Confirmed => "confirmed",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
            Status::NoShow => "no_show",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Status::Pending,
            Status::Confirmed,
            Status::Completed,
            Status::Cancelled,
            Status::NoShow,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    /// Pending and confirmed appointments hold their time; the others free it.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Pending | Status::Confirmed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Whatsapp,
    Web,
    Manual,
    WalkIn,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Whatsapp => "whatsapp",
            Source::Web => "web",
            Source::Manual => "manual",
            Source::WalkIn => "walk_in",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Source::Whatsapp,
            Source::Web,
            Source::Manual,
            Source::WalkIn,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// Whether a customer's booking waits for the owner (a hold) or is confirmed at once.
/// A service follows the organization's setting unless it says otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// As the organization's `approval_required` setting says.
    #[default]
    Business,
    /// Always waits for the owner's approval.
    Required,
    /// Always confirmed at once.
    Immediate,
}

impl Approval {
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Business => "business",
            Approval::Required => "required",
            Approval::Immediate => "immediate",
        }
    }

    /// As stored in `service_types.approval_required`: `None` follows the business.
    pub fn required(self) -> Option<bool> {
        match self {
            Approval::Business => None,
            Approval::Required => Some(true),
            Approval::Immediate => Some(false),
        }
    }

    pub fn from_required(stored: Option<bool>) -> Self {
        match stored {
            None => Approval::Business,
            Some(true) => Approval::Required,
            Some(false) => Approval::Immediate,
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Approval::Business, Approval::Required, Approval::Immediate]
            .into_iter()
            .find(|a| a.as_str() == value)
    }
}

/// Staff who may change the appointment approve a hold (it becomes `confirmed`) or reject
/// it (`cancelled`, with the reason told to the customer). Decided once, before it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecideHoldRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub appointment_id: Uuid,
    pub approve: bool,
    /// Why it was rejected; ignored for an approval.
    #[serde(default)]
    pub reason: Option<String>,
}

/// How a hold ended without becoming an appointment (an approval books it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldOutcome {
    Rejected,
    Expired,
}

impl HoldOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldOutcome::Rejected => "rejected",
            HoldOutcome::Expired => "expired",
        }
    }
}
