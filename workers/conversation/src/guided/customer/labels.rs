//! The words of the customer's screens that depend on the business: names,
//! days in its time zone, labels of appointments.

use cita_shared::{contracts::scheduling::Appointment, spanish::Choice};
use jiff::{Timestamp, civil::Date};
use uuid::Uuid;

use crate::guided::{
    Guided, Next,
    action::Action,
    flow::Step,
    screens::{Opt, opt},
};

impl Guided<'_> {
    /// The greeting on a fresh start (or a fallback from the AI); after a note (no
    /// appointments, a hint) just the question.
    pub(super) fn menu_question(&self, notes: &[String]) -> String {
        match notes {
            [] => self
                .words()
                .greeting(self.person.name.as_deref(), &self.business.name),
            [note] if note == self.words().fallback_note() => self
                .words()
                .greeting(self.person.name.as_deref(), &self.business.name),
            _ => self.words().what_now().into(),
        }
    }

    /// An option the step does not offer (an id from somewhere else): show it again.
    pub(in crate::guided) fn stale(&self, step: &Step) -> Next {
        Next::show_with(step.clone(), self.words().stale())
    }

    /// An option with the title every screen gives it.
    pub(in crate::guided) fn choice(&self, action: Action, choice: Choice) -> Opt {
        opt(action, self.words().option(choice))
    }

    pub(in crate::guided) fn today(&self) -> Date {
        self.local_day(self.now)
    }

    pub(in crate::guided) fn local_day(&self, at: Timestamp) -> Date {
        at.to_zoned(self.business.time_zone.clone()).date()
    }

    /// "Con Luis o Ana": who can take a time.
    pub(super) fn with(&self, staff_ids: &[Uuid]) -> String {
        let names: Vec<&str> = staff_ids
            .iter()
            .filter_map(|id| self.business.staff_name(*id))
            .collect();
        self.words().with(&names)
    }

    /// "lunes 7 de diciembre, 10:30 · con Luis"
    pub(super) fn when_with(&self, appointment: &Appointment) -> String {
        let when = self
            .words()
            .when(appointment.starts_at, &self.business.time_zone);
        let staff = self.business.staff_name(appointment.staff_id);
        self.words().when_with(&when, staff)
    }

    /// "Corte de cabello el lunes 7 de diciembre, 10:30 con Luis"
    pub(super) fn label(&self, appointment: &Appointment) -> String {
        let service = self
            .business
            .service(appointment.service_type_id)
            .map_or(self.words().appointment(), |s| s.name.as_str());
        let when = self
            .words()
            .when(appointment.starts_at, &self.business.time_zone);
        let staff = self.business.staff_name(appointment.staff_id);
        self.words().label(service, &when, staff)
    }
}
