//! The owner's changes, made: each is one scheduling request under the key of the
//! message that led to it, so a turn run again changes nothing twice.

use cita_shared::contracts::scheduling::{
    AddClosureRequest, AddStaffRequest, BusinessHoursRequest, DayHours, FiguresRequest, Interval,
    Outcome, RemoveStaffRequest, RemoveTimeOffRequest, Request, Settings, TimeOffKind,
    UpdateSettingsRequest, UpsertServiceRequest,
};
use jiff::civil::Date;
use uuid::Uuid;

use super::{
    super::Next,
    Change, Guided, Manage, WEEKDAYS, current_settings,
    words::{cutoff_label, mode_label, reminders_label, shifts_label},
};
use crate::guided::{Asked, GuidedError, flow::Step};

fn menu() -> Step {
    Step::Manage(Manage::Menu)
}

impl Guided<'_> {
    /// Sends `request`; its outcome becomes the words `done` gives, shown above the
    /// owner's menu (a refusal too; silence shows `again` once more).
    async fn change(
        &self,
        request: Request,
        again: Step,
        done: impl FnOnce(Outcome) -> String,
    ) -> Next {
        match self.ask(request).await {
            Asked::Got(outcome) => Next::show_with(menu(), done(outcome)),
            Asked::Refused(error) => Next::show_with(menu(), self.refusal(&error)),
            Asked::Unavailable => Next::show_with(again, self.words().unavailable()),
        }
    }

    pub(super) async fn apply(&self, change: &Change, key: &str) -> Result<Next, GuidedError> {
        let actor = self.person.actor;
        let idempotency_key = key.to_owned();
        let again = Step::Manage(Manage::Confirm {
            change: change.clone(),
            key: key.to_owned(),
        });
        let words = self.words();
        Ok(match change {
            Change::Service {
                service_id,
                name,
                minutes,
                price_minor,
                retire,
            } => {
                let request = Request::UpsertService(UpsertServiceRequest {
                    actor,
                    idempotency_key,
                    service_type_id: *service_id,
                    name: service_id.is_none().then(|| name.clone()),
                    description: None,
                    duration_minutes: *minutes,
                    price_minor: *price_minor,
                    buffer_minutes: None,
                    active: retire.then_some(false),
                    staff_ids: None,
                    approval: None,
                    change_cutoff_minutes: None,
                    deposit: None,
                });
                self.change(request, again, |outcome| match outcome {
                    Outcome::Service { service } if !service.active => {
                        format!("Listo: «{}» ya no se ofrece.", service.name)
                    }
                    Outcome::Service { service } => format!(
                        "Listo: {}, {}, {}.",
                        service.name,
                        words.length(i64::from(service.duration_minutes)),
                        words.price(service.price_minor, &service.currency)
                    ),
                    _ => words.unavailable().into(),
                })
                .await
            }
            Change::AddStaff { name, phone } => {
                let request = Request::AddStaff(AddStaffRequest {
                    actor,
                    idempotency_key,
                    name: name.clone(),
                    phone: phone.clone(),
                    service_type_ids: None,
                });
                self.change(request, again, |_| {
                    format!(
                        "Listo: {name} ya está en el equipo y recibirá un mensaje de bienvenida."
                    )
                })
                .await
            }
            Change::DayHours { weekday, shifts } => {
                let request = Request::SetBusinessHours(BusinessHoursRequest {
                    actor,
                    idempotency_key,
                    days: vec![DayHours {
                        weekday: *weekday,
                        intervals: shifts
                            .iter()
                            .map(|(opens, closes)| Interval {
                                opens: *opens,
                                closes: *closes,
                            })
                            .collect(),
                    }],
                });
                let day = WEEKDAYS[usize::from(*weekday) - 1];
                self.change(request, again, |_| {
                    format!("Listo: el {day} queda {}.", shifts_label(shifts))
                })
                .await
            }
            Change::Closure { from, to } => {
                let request = Request::AddClosure(AddClosureRequest {
                    actor,
                    idempotency_key,
                    staff_id: None,
                    kind: TimeOffKind::Closure,
                    from: *from,
                    to: *to,
                    reason: None,
                });
                self.change(request, again, |outcome| {
                    let mut text =
                        format!("Listo: {} no se reservan citas.", self.span(*from, *to));
                    if let Outcome::TimeOff {
                        live_appointments, ..
                    } = outcome
                        && live_appointments > 0
                    {
                        text.push_str(&format!(
                            " Ya hay {live_appointments} cita(s) en esos días: no se cancelaron."
                        ));
                    }
                    text
                })
                .await
            }
            Change::Reopen { time_off_id, label } => {
                let request = Request::RemoveTimeOff(RemoveTimeOffRequest {
                    actor,
                    idempotency_key,
                    time_off_id: *time_off_id,
                });
                self.change(request, again, |_| {
                    format!("Listo: se quitó el cierre {label}.")
                })
                .await
            }
            Change::ReviewLink { link } => {
                let link = link.clone();
                self.settings(&Manage::Reviews, key, move |s| s.review_link = Some(link))
                    .await?
            }
        })
    }

    fn span(&self, from: Date, to: Date) -> String {
        if from == to {
            format!("el {}", self.words().day(from))
        } else {
            format!("del {} al {}", self.words().day(from), self.words().day(to))
        }
    }

    pub(super) async fn remove_member(
        &self,
        staff_id: Uuid,
        name: &str,
        key: &str,
    ) -> Result<Next, GuidedError> {
        let request = Request::RemoveStaff(RemoveStaffRequest {
            actor: self.person.actor,
            idempotency_key: key.to_owned(),
            staff_id,
        });
        let again = Step::Manage(Manage::Team);
        Ok(self
            .change(request, again, |outcome| match outcome {
                Outcome::Staff { staff } if staff.upcoming_appointments > 0 => format!(
                    "Listo: {name} ya no está en el equipo. Tiene {} cita(s) pendientes en la agenda.",
                    staff.upcoming_appointments
                ),
                _ => format!("Listo: {name} ya no está en el equipo."),
            })
            .await)
    }

    /// Changes the settings as `patch` says, from the current ones and under their
    /// version (someone changing them meanwhile makes this try again).
    pub(super) async fn settings(
        &self,
        screen: &Manage,
        key: &str,
        patch: impl FnOnce(&mut Settings),
    ) -> Result<Next, GuidedError> {
        let again = Step::Manage(screen.clone());
        let Ok((mut settings, version)) = current_settings(self.toolbox, self.business.id).await
        else {
            return Ok(Next::show_with(again, self.words().unavailable()));
        };
        patch(&mut settings);
        let request = Request::UpdateSettings(UpdateSettingsRequest {
            actor: self.person.actor,
            idempotency_key: key.to_owned(),
            expected_version: version,
            settings,
        });
        Ok(self
            .change(request, again, |outcome| match outcome {
                Outcome::Settings { settings, .. } => settings_summary(&settings),
                _ => self.words().unavailable().into(),
            })
            .await)
    }

    /// This month's figures so far, as a short text above the owner's menu.
    pub(super) async fn figures(&self) -> Result<Next, GuidedError> {
        let today = self.today();
        let from = today.first_of_month();
        let request = Request::Figures(FiguresRequest {
            actor: self.person.actor,
            from,
            to: today,
        });
        let words = self.words();
        Ok(match self.ask(request).await {
            Asked::Got(Outcome::Figures { figures }) => {
                let mut text = format!(
                    "{} hasta hoy: {} citas, {} completadas, {} no-shows, {} canceladas. Ingresos: {}.",
                    cita_shared::spanish::capitalized(
                        cita_shared::spanish::MONTHS[usize::from(today.month() as u8) - 1]
                    ),
                    figures.appointments,
                    figures.completed,
                    figures.no_shows,
                    figures.cancelled,
                    words.price(figures.revenue_minor, &figures.currency)
                );
                let busiest: Vec<String> = figures
                    .busiest_hours
                    .iter()
                    .take(3)
                    .map(|h| format!("{:02}:00 ({})", h.hour, h.appointments))
                    .collect();
                if !busiest.is_empty() {
                    text.push_str(&format!(" Horas con más citas: {}.", busiest.join(", ")));
                }
                Next::after(text, menu())
            }
            Asked::Refused(error) => Next::show_with(menu(), self.refusal(&error)),
            Asked::Got(_) | Asked::Unavailable => Next::show_with(menu(), words.unavailable()),
        })
    }
}

/// The settings after a change, as the owner reads them.
fn settings_summary(settings: &Settings) -> String {
    let reviews = match (
        &settings.review_request_after_minutes,
        &settings.review_link,
    ) {
        (None, _) => "desactivadas".to_owned(),
        (Some(_), Some(link)) => format!("activadas, con el enlace {link}"),
        (Some(_), None) => "activadas, sin enlace".to_owned(),
    };
    format!(
        "Listo. Recordatorios: {}. Reseñas: {reviews}. Asistente: {}. Cambios: {}.",
        reminders_label(&settings.reminder_offsets_minutes).to_lowercase(),
        mode_label(settings.assistant_mode).to_lowercase(),
        cutoff_label(settings.change_cutoff_minutes).to_lowercase(),
    )
}
