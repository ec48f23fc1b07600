//! Where a guided conversation stands: its step, the options it last showed, and
//! whether it stands in for the AI. Stored as JSON in `conversations.guided`, so it
//! survives restarts and is the same for every replica.

use std::time::Duration;

use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::action::Action;
use crate::context::Persona;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub step: Step,
    /// The options last shown, in order: a typed number or title picks one of them.
    pub shown: Vec<Shown>,
    /// Numbers the screens; option ids carry it, so a tap on an older list is known
    /// to be stale.
    pub serial: u32,
    /// Entered because the AI was unavailable or over budget: at rest, the
    /// conversation goes back to the AI once it is healthy.
    pub fallback: bool,
    /// The last time the person moved the flow.
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shown {
    pub id: String,
    pub title: String,
}

/// A booking being put together, or an appointment being moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    pub service_id: Uuid,
    /// The appointment being moved, when this is a reschedule.
    pub moving: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The customer's three choices.
    Menu,
    Services {
        page: usize,
    },
    Days {
        booking: Booking,
        page: usize,
    },
    Times {
        booking: Booking,
        day: Date,
        /// Index of the first time shown among the day's free times.
        from: usize,
    },
    Staff {
        booking: Booking,
        starts_at: Timestamp,
        staff_ids: Vec<Uuid>,
    },
    Confirm {
        booking: Booking,
        starts_at: Timestamp,
        staff_id: Option<Uuid>,
        /// The booking's idempotency key (see `Guided::key`).
        key: String,
    },
    Appointments,
    /// The business's frequent questions.
    Questions,
    Appointment {
        appointment_id: Uuid,
        service_id: Uuid,
        label: String,
    },
    ConfirmCancel {
        appointment_id: Uuid,
        label: String,
        key: String,
    },
    /// Staff and owner: what they can do by taps.
    StaffMenu,
    BlockDay,
    BlockStart {
        day: Date,
        from: usize,
    },
    BlockLength {
        starts_at: Timestamp,
        key: String,
    },
    Marking {
        page: usize,
    },
    MarkAs {
        appointment_id: Uuid,
        label: String,
        key: String,
    },
    Releasing,
    /// Requests waiting for an answer, and one of them.
    Holds,
    Hold {
        appointment_id: Uuid,
    },
    /// The owner's screens.
    Manage(super::owner::Manage),
}

impl Step {
    pub fn home(persona: Persona) -> Step {
        match persona {
            Persona::Customer => Step::Menu,
            Persona::Staff | Persona::Owner => Step::StaffMenu,
        }
    }

    /// Not in the middle of something: a flow here may hand back to the AI.
    pub fn at_rest(&self) -> bool {
        matches!(self, Step::Menu | Step::StaffMenu)
    }

    /// Waiting for a value the person types (a price, a name), not a pick.
    pub fn wants_text(&self) -> bool {
        matches!(self, Step::Manage(super::owner::Manage::Typing { .. }))
    }
}

impl Flow {
    pub fn new(persona: Persona, fallback: bool, now: Timestamp) -> Flow {
        Flow {
            step: Step::home(persona),
            shown: Vec::new(),
            // Not 0: a flow that starts over must not reuse the ids of the last one's
            // screens (an old "yes" would act on a new question).
            serial: (now.as_millisecond().rem_euclid(1_000_000_000)) as u32,
            fallback,
            at: now,
        }
    }

    /// The stored flow, unless it sat idle longer than `idle` (then it starts over).
    pub fn current(
        stored: Option<&serde_json::Value>,
        now: Timestamp,
        idle: Duration,
    ) -> Option<Flow> {
        let flow: Flow = serde_json::from_value(stored?.clone())
            .inspect_err(|error| tracing::warn!(%error, "a stored guided flow is unreadable; it starts over"))
            .ok()?;
        let idle_for = now.duration_since(flow.at);
        (idle_for.as_secs_f64() <= idle.as_secs_f64()).then_some(flow)
    }

    /// The action of a shown option id: the id without the screen's serial.
    pub fn action_of(&self, id: &str) -> Option<Action> {
        if !self.shown.iter().any(|s| s.id == id) {
            return None;
        }
        id.split_once('.')
            .filter(|(serial, _)| serial.parse::<u32>().is_ok())
            .map_or(id, |(_, action)| action)
            .parse()
            .ok()
    }

    /// The title the option of `action` was shown with (empty if it was not shown).
    pub fn title_of(&self, action: Action) -> String {
        self.shown
            .iter()
            .find(|s| self.action_of(&s.id) == Some(action))
            .map_or(String::new(), |s| s.title.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_flows_start_over_and_unreadable_ones_too() {
        let now: Timestamp = "2026-12-07T15:00:00Z".parse().unwrap();
        let flow = Flow::new(Persona::Customer, false, now);
        let stored = serde_json::to_value(&flow).unwrap();
        let idle = Duration::from_secs(1800);
        assert_eq!(Flow::current(Some(&stored), now, idle), Some(flow.clone()));
        let later = now + jiff::SignedDuration::from_mins(31);
        assert_eq!(Flow::current(Some(&stored), later, idle), None);
        assert_eq!(
            Flow::current(Some(&serde_json::json!({"step": "nope"})), now, idle),
            None
        );
        assert_eq!(Flow::current(None, now, idle), None);
    }

    #[test]
    fn actions_are_the_shown_ids_without_their_serial() {
        let now: Timestamp = "2026-12-07T15:00:00Z".parse().unwrap();
        let mut flow = Flow::new(Persona::Customer, false, now);
        flow.shown = vec![
            Shown {
                id: "4.day:2026-12-08".into(),
                title: "Martes 8 dic".into(),
            },
            Shown {
                id: "m:human".into(),
                title: "Hablar con alguien".into(),
            },
        ];
        assert_eq!(
            flow.action_of("4.day:2026-12-08"),
            Some(Action::Day("2026-12-08".parse().unwrap()))
        );
        assert_eq!(flow.action_of("m:human"), Some(Action::Human));
        assert_eq!(flow.action_of("3.day:2026-12-08"), None);
    }
}
