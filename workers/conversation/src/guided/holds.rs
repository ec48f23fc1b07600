//! Requests by taps, for staff and owners: "Por aprobar" on top of the menu while
//! customers' bookings wait, the list of them, and one's Aprobar / Rechazar — the same
//! answer as the notice's buttons, so a notice that went as a template (without buttons)
//! is still answered by chat.

use cita_shared::{
    contracts::scheduling::{Who, permissions},
    db::Cached,
    spanish::{Choice, ListOf},
};
use jiff::Timestamp;
use uuid::Uuid;

use super::{
    Guided, GuidedError,
    action::Action,
    body,
    customer::Shown,
    flow::Step,
    screens::{Opt, opt, render, row},
};

/// A request as listed: its appointment, who asks, for what and when, and until when.
pub(super) struct Waiting {
    id: Uuid,
    customer: String,
    service: String,
    starts_at: Timestamp,
    until: Timestamp,
}

impl Guided<'_> {
    /// The requests this person may answer, soonest deadline first: everyone's for the
    /// owner and those who manage appointments, their own for other staff.
    pub(super) async fn waiting_holds(&self) -> Result<Vec<Waiting>, GuidedError> {
        let Who::Staff { staff_id } = self.person.actor.who else {
            return Ok(Vec::new());
        };
        let client = self.toolbox.pool.get().await?;
        let rows = client
            .rows(
                "SELECT a.id, COALESCE(c.name, c.wa_id, c.phone, ''), s.name, a.starts_at,
                        a.hold_expires_at
                 FROM appointments a
                 JOIN customers c ON c.id = a.customer_id
                 JOIN service_types s ON s.id = a.service_type_id
                 JOIN staff me ON me.id = $2
                 WHERE a.organization_id = $1 AND a.status = 'pending'
                   AND a.hold_expires_at > $3
                   AND (me.role = 'owner' OR $4 = ANY (me.permissions) OR a.staff_id = me.id)
                 ORDER BY a.hold_expires_at LIMIT 10",
                &[
                    &self.business.id,
                    &staff_id,
                    &self.now,
                    &permissions::MANAGE_APPOINTMENTS,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Waiting {
                id: r.get(0),
                customer: r.get(1),
                service: r.get(2),
                starts_at: r.get(3),
                until: r.get(4),
            })
            .collect())
    }

    /// The staff menu's row for the requests, when some wait.
    pub(super) async fn holds_row(&self) -> Result<Option<Opt>, GuidedError> {
        let waiting = self.waiting_holds().await?.len();
        Ok((waiting > 0).then(|| {
            row(
                Action::Requests,
                self.words().holds_option(waiting),
                self.words().holds_hint().into(),
            )
        }))
    }

    pub(super) async fn show_holds(
        &self,
        step: &Step,
        notes: &[String],
        serial: u32,
    ) -> Result<Shown, GuidedError> {
        let words = self.words();
        let tz = &self.business.time_zone;
        let waiting = self.waiting_holds().await?;
        if let Step::Hold { appointment_id } = step {
            let Some(hold) = waiting.iter().find(|h| h.id == *appointment_id) else {
                // Decided elsewhere meanwhile, or run out: the list again.
                return Ok(Err((Step::Holds, words.hold_expired().into())));
            };
            let text = words.hold_request(
                &hold.customer,
                &hold.service,
                &words.when(hold.starts_at, tz),
                &words.when(hold.until, tz),
            );
            return Ok(Ok(render(
                words,
                serial,
                &body(notes, &text),
                words.see(ListOf::Options),
                vec![
                    opt(Action::Decide(hold.id, true), words.approve()),
                    opt(Action::Decide(hold.id, false), words.reject()),
                    self.choice(Action::Back, Choice::Back),
                ],
            )));
        }
        if waiting.is_empty() {
            return Ok(Err((Step::StaffMenu, words.nothing_to_decide().into())));
        }
        let rows = waiting
            .iter()
            .map(|hold| {
                row(
                    Action::Appointment(hold.id),
                    hold.customer.clone(),
                    format!("{} · {}", hold.service, words.when(hold.starts_at, tz)),
                )
            })
            .collect();
        Ok(Ok(render(
            words,
            serial,
            &body(notes, words.holds_which()),
            words.see(ListOf::Appointments),
            rows,
        )))
    }
}
