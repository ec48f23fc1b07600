//! `scheduling.rpc`: requests to the scheduling service and its replies.

use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod appointment;
mod business;
mod conversations;
mod deposits;
mod settings;
mod time_off;

pub use appointment::*;
pub use business::*;
pub use conversations::*;
pub use deposits::*;
pub use settings::*;
pub use time_off::*;

/// What a staff member may do beyond their own agenda (`staff.permissions`); owners may
/// do everything. Scheduling enforces them on writes, the API on reads too.
/// Bookings a free-plan organization may make per calendar month (in its own zone):
/// scheduling refuses the next one; the dashboard shows how many are left.
pub const FREE_PLAN_MONTHLY_BOOKINGS: u32 = 50;

pub mod permissions {
    /// May view every staff member's agenda.
    pub const VIEW_BUSINESS_SCHEDULE: &str = "view_business_schedule";
    /// May book, cancel, move and mark appointments of other staff members, and block
    /// their time.
    pub const MANAGE_APPOINTMENTS: &str = "manage_appointments";
}

/// Who is asking. Only ids travel: the scheduling service looks up roles and permissions
/// itself, so a caller cannot grant itself more than the database says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub organization_id: Uuid,
    #[serde(flatten)]
    pub who: Who,
    /// Requests sent before the field existed came from the chat.
    #[serde(default)]
    pub channel: Channel,
    /// The API key a request was made with, for the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<Uuid>,
}

/// Where a person acted, for the audit log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Whatsapp,
    Api,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Api => "api",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Who {
    Customer { customer_id: Uuid },
    Staff { staff_id: Uuid },
}

/// A request to `scheduling.rpc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    Availability(AvailabilityRequest),
    Book(BookRequest),
    Cancel(CancelRequest),
    Reschedule(RescheduleRequest),
    SetStatus(SetStatusRequest),
    BlockTime(BlockTimeRequest),
    BookWalkIn(WalkInRequest),
    Schedule(ScheduleRequest),
    Upcoming(CustomerRequest),
    History(CustomerRequest),
    AddStaff(AddStaffRequest),
    RemoveStaff(RemoveStaffRequest),
    SetBusinessHours(BusinessHoursRequest),
    UpsertService(UpsertServiceRequest),
    Figures(FiguresRequest),
    OpeningHours(OpeningHoursRequest),
    AddClosure(AddClosureRequest),
    RemoveTimeOff(RemoveTimeOffRequest),
    SetStaffHours(StaffHoursRequest),
    SetStaffPermissions(StaffPermissionsRequest),
    UpdateSettings(UpdateSettingsRequest),
    UpdateBusinessInfo(UpdateBusinessInfoRequest),
    UpdateCustomer(UpdateCustomerRequest),
    TakeOver(TakeOverRequest),
    Release(ReleaseRequest),
    Reply(ReplyRequest),
    DecideHold(DecideHoldRequest),
}

impl Request {
    /// Who asks, and for which organization.
    pub fn actor(&self) -> &Actor {
        match self {
            Request::Availability(r) => &r.actor,
            Request::Book(r) => &r.actor,
            Request::Cancel(r) => &r.actor,
            Request::Reschedule(r) => &r.actor,
            Request::SetStatus(r) => &r.actor,
            Request::BlockTime(r) => &r.actor,
            Request::BookWalkIn(r) => &r.actor,
            Request::Schedule(r) => &r.actor,
            Request::Upcoming(r) => &r.actor,
            Request::History(r) => &r.actor,
            Request::AddStaff(r) => &r.actor,
            Request::RemoveStaff(r) => &r.actor,
            Request::SetBusinessHours(r) => &r.actor,
            Request::UpsertService(r) => &r.actor,
            Request::Figures(r) => &r.actor,
            Request::OpeningHours(r) => &r.actor,
            Request::AddClosure(r) => &r.actor,
            Request::RemoveTimeOff(r) => &r.actor,
            Request::SetStaffHours(r) => &r.actor,
            Request::SetStaffPermissions(r) => &r.actor,
            Request::UpdateSettings(r) => &r.actor,
            Request::UpdateBusinessInfo(r) => &r.actor,
            Request::UpdateCustomer(r) => &r.actor,
            Request::TakeOver(r) => &r.actor,
            Request::Release(r) => &r.actor,
            Request::Reply(r) => &r.actor,
            Request::DecideHold(r) => &r.actor,
        }
    }

    /// The `type` tag, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Availability(_) => "availability",
            Request::Book(_) => "book",
            Request::Cancel(_) => "cancel",
            Request::Reschedule(_) => "reschedule",
            Request::SetStatus(_) => "set_status",
            Request::BlockTime(_) => "block_time",
            Request::BookWalkIn(_) => "book_walk_in",
            Request::Schedule(_) => "schedule",
            Request::Upcoming(_) => "upcoming",
            Request::History(_) => "history",
            Request::AddStaff(_) => "add_staff",
            Request::RemoveStaff(_) => "remove_staff",
            Request::SetBusinessHours(_) => "set_business_hours",
            Request::UpsertService(_) => "upsert_service",
            Request::Figures(_) => "figures",
            Request::OpeningHours(_) => "opening_hours",
            Request::AddClosure(_) => "add_closure",
            Request::RemoveTimeOff(_) => "remove_time_off",
            Request::SetStaffHours(_) => "set_staff_hours",
            Request::SetStaffPermissions(_) => "set_staff_permissions",
            Request::UpdateSettings(_) => "update_settings",
            Request::UpdateBusinessInfo(_) => "update_business_info",
            Request::UpdateCustomer(_) => "update_customer",
            Request::TakeOver(_) => "take_over",
            Request::Release(_) => "release",
            Request::Reply(_) => "reply",
            Request::DecideHold(_) => "decide_hold",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityRequest {
    pub actor: Actor,
    pub service_type_id: Uuid,
    /// First and last local date, inclusive, in the organization's zone.
    pub from: Date,
    pub to: Date,
    pub staff_id: Option<Uuid>,
    /// The appointment being moved: its own time does not block the times offered for it
    /// (moving 15 minutes earlier with the same person is possible).
    #[serde(default)]
    pub moving: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookRequest {
    pub actor: Actor,
    /// The same key again returns the first result and writes nothing.
    pub idempotency_key: String,
    pub service_type_id: Uuid,
    pub starts_at: Timestamp,
    pub staff_id: Option<Uuid>,
    /// Required when staff book on a customer's behalf (or `customer_phone`); a customer
    /// books for themselves.
    pub customer_id: Option<Uuid>,
    /// Staff may name the customer by number instead (E.164 digits): found under any form
    /// of it, or created with `customer_name`.
    #[serde(default)]
    pub customer_phone: Option<String>,
    #[serde(default)]
    pub customer_name: Option<String>,
    pub source: Source,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub appointment_id: Uuid,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RescheduleRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub appointment_id: Uuid,
    pub starts_at: Timestamp,
    /// Another staff member for the new time; by default the same one if free.
    pub staff_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetStatusRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub appointment_id: Uuid,
    pub status: Status,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockTimeRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    /// Whose time; a staff member blocks their own unless they may manage others.
    pub staff_id: Uuid,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkInRequest {
    pub actor: Actor,
    pub idempotency_key: String,
    pub service_type_id: Uuid,
    /// Who takes the walk-in; by default the staff member asking.
    pub staff_id: Option<Uuid>,
    pub customer_name: Option<String>,
    /// E.164 digits, if the customer gave a number.
    pub customer_phone: Option<String>,
}

/// When the business is open on a local day: its opening hours as instants, with the
/// business's closures taken out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpeningHoursRequest {
    pub actor: Actor,
    pub day: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRequest {
    pub actor: Actor,
    pub from: Date,
    pub to: Date,
    /// One staff member's agenda, or the whole business's with `None`.
    pub staff_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRequest {
    pub actor: Actor,
    pub customer_id: Uuid,
}

/// The reply to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Ok(Outcome),
    Error(SchedulingError),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outcome {
    Slots {
        slots: Vec<FreeSlot>,
    },
    Appointment {
        appointment: Appointment,
    },
    Appointments {
        appointments: Vec<Appointment>,
    },
    Blocked {
        block_id: Uuid,
    },
    Staff {
        staff: StaffMember,
    },
    Hours {
        days: Vec<DayHours>,
    },
    Service {
        service: ServiceType,
    },
    Figures {
        figures: Figures,
    },
    Opening {
        ranges: Vec<TimeRange>,
    },
    /// Time off made; `live_appointments` still fall inside it (they are not cancelled).
    TimeOff {
        time_off: TimeOff,
        live_appointments: u32,
    },
    Removed {
        id: Uuid,
    },
    Settings {
        settings: Settings,
        version: i64,
    },
    Business {
        info: BusinessInfo,
    },
    Customer {
        customer: CustomerRecord,
    },
    Conversation {
        conversation: ConversationState,
    },
    Replied(Box<AcceptedReply>),
}

/// A stretch of time, start included, end excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeSlot {
    pub starts_at: Timestamp,
    pub staff_ids: Vec<Uuid>,
}

impl SchedulingError {
    /// The `code` tag, for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            SchedulingError::SlotTaken { .. } => "slot_taken",
            SchedulingError::NotAvailable { .. } => "not_available",
            SchedulingError::Forbidden => "forbidden",
            SchedulingError::NotFound { .. } => "not_found",
            SchedulingError::QuotaExceeded => "quota_exceeded",
            SchedulingError::IllegalTransition { .. } => "illegal_transition",
            SchedulingError::InvalidRequest { .. } => "invalid_request",
            SchedulingError::TooLate { .. } => "too_late",
            SchedulingError::StaleVersion { .. } => "stale_version",
            SchedulingError::OutsideWindow { .. } => "outside_window",
            SchedulingError::HoldExpired { .. } => "hold_expired",
            SchedulingError::AlreadyDecided { .. } => "already_decided",
            SchedulingError::Unavailable => "unavailable",
        }
    }
}

/// Every way a request can fail, typed so callers (the AI's tools) can react.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SchedulingError {
    #[error("the slot was taken; {} alternatives offered", alternatives.len())]
    SlotTaken { alternatives: Vec<FreeSlot> },
    #[error("the requested time is not bookable")]
    NotAvailable { alternatives: Vec<FreeSlot> },
    #[error("not allowed")]
    Forbidden,
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("the monthly booking quota of the free plan is used up")]
    QuotaExceeded,
    #[error("an appointment that is {from:?} cannot become {to:?}")]
    IllegalTransition { from: Status, to: Status },
    #[error("invalid request: {reason}")]
    InvalidRequest { reason: String },
    /// A customer may no longer move or cancel: the business's cutoff has passed.
    #[error("changes close {cutoff_minutes} minutes before the appointment")]
    TooLate { cutoff_minutes: u32 },
    /// Someone changed what this request expected to replace.
    #[error("it changed meanwhile; the current version is {current}")]
    StaleVersion { current: i64 },
    /// The customer has not written in 24 hours: only a template may go out.
    #[error("the customer's 24-hour window is closed; send a template")]
    OutsideWindow { last_inbound_at: Option<Timestamp> },
    /// The hold ran out before anyone decided; its time may be taken by now.
    #[error("the hold expired at {expired_at}")]
    HoldExpired { expired_at: Timestamp },
    /// The hold was approved or rejected already (or was never a hold).
    #[error("it is {status:?} already; a hold is decided once")]
    AlreadyDecided { status: Status },
    #[error("scheduling is unavailable, try again")]
    Unavailable,
}
