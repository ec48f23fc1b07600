//! Domain events on `cita.events`, written to the outbox in the transaction that caused
//! them and published after commit. Consumers deduplicate on `event_id`.

use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::scheduling::{Actor, Appointment, Status};

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
    /// The free plan's monthly quota ran out; sent once per organization and month.
    #[serde(rename = "organization.quota_exceeded")]
    QuotaExceeded { month: Date, limit: u32 },
}

impl Event {
    /// The routing key on `cita.events`: the same string as the `type` tag.
    pub fn routing_key(&self) -> &'static str {
        match self {
            Event::AppointmentBooked { .. } => "appointment.booked",
            Event::AppointmentCancelled { .. } => "appointment.cancelled",
            Event::AppointmentRescheduled { .. } => "appointment.rescheduled",
            Event::AppointmentStatusChanged { .. } => "appointment.status_changed",
            Event::QuotaExceeded { .. } => "organization.quota_exceeded",
        }
    }
}
