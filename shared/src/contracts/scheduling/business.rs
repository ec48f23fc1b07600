//! The owner's requests about the business itself: the team, hours, services, closures,
//! settings, the business's information and what staff keep about customers.

use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Actor, Approval, DepositPolicy};

/// The owner adds a team member (or brings back a removed one with the same phone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddStaffRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub name: String,
    /// E.164 digits.
    pub phone: String,
    /// The services they perform; all active services when `None`.
    pub service_type_ids: Option<Vec<Uuid>>,
}

/// The owner removes a team member: they stop being bookable and writing as staff; their
/// existing appointments stay (the reply says how many are upcoming).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoveStaffRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub staff_id: Uuid,
}

/// Opening hours of one weekday (ISO: 1 = Monday … 7 = Sunday); no intervals: closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHours {
    pub weekday: u8,
    pub intervals: Vec<Interval>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub opens: Time,
    pub closes: Time,
}

/// The owner sets the opening hours of the days given; other days keep theirs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessHoursRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub days: Vec<DayHours>,
}

/// The owner creates a service (`service_type_id: None`; name, duration and price
/// required) or changes the fields given of an existing one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpsertServiceRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub service_type_id: Option<Uuid>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub duration_minutes: Option<u32>,
    /// In minor units of the organization's currency.
    pub price_minor: Option<i64>,
    /// Minutes kept free after it (cleaning, preparation).
    #[serde(default)]
    pub buffer_minutes: Option<u32>,
    pub active: Option<bool>,
    /// Who performs it, replacing the current set (active staff of the organization). A
    /// new service without it is everyone's.
    #[serde(default)]
    pub staff_ids: Option<Vec<Uuid>>,
    /// Whether customers' bookings of it wait for approval; a new service follows the
    /// business.
    #[serde(default)]
    pub approval: Option<Approval>,
    /// Minutes before an appointment of it when customers stop moving and cancelling:
    /// `Some(None)` follows the business again, `Some(Some(0))` never stops them.
    #[serde(
        default,
        deserialize_with = "crate::contracts::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub change_cutoff_minutes: Option<Option<u32>>,
    /// What customers pay first to confirm it: `Some(None)` follows the business again.
    #[serde(
        default,
        deserialize_with = "crate::contracts::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub deposit: Option<Option<DepositPolicy>>,
}

/// Simple figures of the business between two local dates (inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiguresRequest {
    pub actor: Actor,
    pub from: Date,
    pub to: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub owner: bool,
    pub active: bool,
    pub permissions: Vec<String>,
    pub service_type_ids: Vec<Uuid>,
    /// Live appointments still ahead of them.
    pub upcoming_appointments: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceType {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub duration_minutes: u32,
    pub buffer_minutes: u32,
    pub price_minor: i64,
    pub currency: String,
    pub active: bool,
    #[serde(default)]
    pub approval: Approval,
    /// Its own change cutoff in minutes; `None` follows the business.
    #[serde(default)]
    pub change_cutoff_minutes: Option<u32>,
    /// Its own deposit policy; `None` follows the business.
    #[serde(default)]
    pub deposit: Option<DepositPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Appointments starting in the range, whatever became of them.
    pub appointments: u32,
    pub completed: u32,
    pub no_shows: u32,
    pub cancelled: u32,
    /// Price of the completed ones, in minor units.
    pub revenue_minor: i64,
    pub currency: String,
    /// Local hours (0–23) by appointments starting then, busiest first (at most 3).
    pub busiest_hours: Vec<HourCount>,
    /// Appointments per service, most first.
    pub by_service: Vec<ServiceCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    pub hour: u8,
    pub appointments: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCount {
    pub service_type_id: Uuid,
    pub appointments: u32,
}

/// The owner sets a staff member's weekly working hours (every weekday: a day left out
/// or without intervals is a day off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffHoursRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub staff_id: Uuid,
    pub days: Vec<DayHours>,
}

/// The owner sets what a staff member may do beyond their own agenda (see
/// [`super::permissions`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffPermissionsRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub staff_id: Uuid,
    pub permissions: Vec<String>,
}

/// Staff change what the business keeps about a customer; fields left `None` stay as
/// they are, and an empty text clears one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateCustomerRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub customer_id: Uuid,
    pub name: Option<String>,
    pub notes: Option<String>,
    pub email: Option<String>,
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub id: Uuid,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub notes: Option<String>,
    pub tags: Vec<String>,
}
