//! How the business works (its settings, under optimistic concurrency) and what it tells
//! customers about itself.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Actor, DepositPolicy};

/// How an organization wants its conversations answered (`organizations.assistant_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssistantMode {
    /// Always the model; when it fails, turns are retried later.
    Ai,
    /// Never the model: buttons and lists only.
    Guided,
    /// The model, and guided mode while it is unavailable or the day's budget is spent.
    AiWithGuidedFallback,
}

impl AssistantMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AssistantMode::Ai => "ai",
            AssistantMode::Guided => "guided",
            AssistantMode::AiWithGuidedFallback => "ai_with_guided_fallback",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            AssistantMode::Ai,
            AssistantMode::Guided,
            AssistantMode::AiWithGuidedFallback,
        ]
        .into_iter()
        .find(|m| m.as_str() == value)
    }
}

/// The organization's settings, all of them: an update replaces the whole set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Reminders this many minutes before an appointment (at most 4; none: no reminders).
    pub reminder_offsets_minutes: Vec<u32>,
    /// A review request this long after a completed appointment; `None`: never.
    pub review_request_after_minutes: Option<u32>,
    /// Where the review request sends the customer (`https://…`).
    pub review_link: Option<String>,
    pub assistant_mode: AssistantMode,
    /// How long the assistant stays silent after a handoff or a person's reply.
    pub handoff_minutes: u32,
    /// Customers may move or cancel until this long before the appointment; 0: until it
    /// starts. Staff are not bound by it.
    pub change_cutoff_minutes: u32,
    /// Customers' bookings wait for the owner's approval (services may say otherwise).
    #[serde(default)]
    pub approval_required: bool,
    /// How long a booking waits for approval before its time is freed (at the latest,
    /// until the appointment would start).
    #[serde(default = "default_hold_minutes")]
    pub hold_minutes: u32,
    /// What customers' bookings pay first to be confirmed (services may say otherwise);
    /// anything but none needs the business's Mercado Pago account connected.
    #[serde(default)]
    pub deposit: DepositPolicy,
    /// A no-show keeps the paid deposit; `false` gives it back.
    #[serde(default = "forfeits")]
    pub no_show_forfeits: bool,
}

fn forfeits() -> bool {
    true
}

pub const DEFAULT_HOLD_MINUTES: u32 = 120;

fn default_hold_minutes() -> u32 {
    DEFAULT_HOLD_MINUTES
}

/// The owner replaces the settings, if nobody changed them since `expected_version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateSettingsRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub expected_version: i64,
    pub settings: Settings,
}

/// What customers (and the assistant) are told about the business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessInfo {
    pub description: Option<String>,
    /// "efectivo", "tarjeta", "transferencia", …
    pub payment_methods: Vec<String>,
    pub locations: Vec<LocationInfo>,
    /// Questions and answers, in the order given.
    pub faq: Vec<FaqEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationInfo {
    /// An existing location of the organization.
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    /// How to get there: "frente al parque, segundo piso".
    pub directions: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqEntry {
    pub question: String,
    pub answer: String,
}

/// The owner replaces the business's information; every location named must be theirs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateBusinessInfoRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub info: BusinessInfo,
}
