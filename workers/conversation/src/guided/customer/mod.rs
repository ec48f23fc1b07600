//! The customer's flow: book (service → day → time → staff → confirm), their
//! appointments (cancel, move), and talking to a person.

mod info;
mod labels;
mod requests;

use cita_shared::{
    contracts::scheduling::{CancelRequest, Request},
    spanish::{Choice, ListOf},
};
use jiff::{ToSpan, civil::Date};

use super::{
    Asked, Guided, GuidedError, Next,
    action::Action,
    body,
    flow::{Booking, Flow, Step},
    screens::{Screen, opt, page, render, row, window},
};

/// Days offered to book: two weeks, as the assistant does.
const DAYS_AHEAD: i32 = 14;
/// Free times per list (with "earlier", "later" and "another day" rows: ten).
const TIMES_PER_PAGE: usize = 7;

/// A screen, or the step to show instead and why.
pub(super) type Shown = Result<Screen, (Step, String)>;

impl Guided<'_> {
    pub(super) async fn show_customer(
        &self,
        step: &Step,
        notes: &[String],
        serial: u32,
    ) -> Result<Shown, GuidedError> {
        let business = self.business;
        Ok(Ok(match step {
            Step::Services { page: n } => {
                if business.services.is_empty() {
                    return Ok(Err((Step::Menu, self.words().no_services().into())));
                }
                let rows = business
                    .services
                    .iter()
                    .map(|s| {
                        row(
                            Action::Service(s.id),
                            &s.name,
                            self.words().service_row(
                                s.duration_minutes,
                                &self.words().price(s.price_minor, &s.currency),
                            ),
                        )
                    })
                    .collect();
                render(
                    self.words(),
                    serial,
                    &body(notes, self.words().which_service()),
                    self.words().see(ListOf::Services),
                    page(rows, *n, self.words().option(Choice::MoreServices)),
                )
            }
            Step::Days { booking, page: n } => {
                let Some(service) = business.service(booking.service_id) else {
                    return Ok(Err((
                        Step::Services { page: 0 },
                        self.words().no_services().into(),
                    )));
                };
                let today = self.today();
                let slots = match self
                    .free(
                        booking,
                        today,
                        today.saturating_add((DAYS_AHEAD - 1).days()),
                    )
                    .await
                {
                    Ok(slots) => slots,
                    Err(why) => return Ok(Err((Step::Menu, why))),
                };
                let mut days: Vec<(Date, usize)> = Vec::new();
                for slot in &slots {
                    let day = self.local_day(slot.starts_at);
                    match days.last_mut() {
                        Some((last, n)) if *last == day => *n += 1,
                        _ => days.push((day, 1)),
                    }
                }
                if days.is_empty() {
                    let back = if booking.moving.is_some() {
                        Step::Appointments
                    } else {
                        Step::Services { page: 0 }
                    };
                    return Ok(Err((back, self.words().no_days(&service.name))));
                }
                let rows = days
                    .into_iter()
                    .map(|(day, n)| {
                        let free = self.words().free_times(n);
                        row(Action::Day(day), self.words().short_day(day), free)
                    })
                    .collect();
                render(
                    self.words(),
                    serial,
                    &body(notes, &self.words().which_day(&service.name)),
                    self.words().see(ListOf::Days),
                    page(rows, *n, self.words().option(Choice::MoreDays)),
                )
            }
            Step::Times { booking, day, from } => {
                let slots = match self.free(booking, *day, *day).await {
                    Ok(slots) => slots,
                    Err(why) => return Ok(Err((Step::Menu, why))),
                };
                if slots.is_empty() {
                    return Ok(Err((
                        Step::Days {
                            booking: booking.clone(),
                            page: 0,
                        },
                        self.words().day_full().into(),
                    )));
                }
                let rows = slots
                    .iter()
                    .map(|slot| {
                        row(
                            Action::Time(slot.starts_at),
                            self.words().clock(slot.starts_at, &business.time_zone),
                            self.with(&slot.staff_ids),
                        )
                    })
                    .collect();
                let mut options = window(self.words(), rows, *from, TIMES_PER_PAGE);
                options.push(self.choice(Action::OtherDays, Choice::OtherDay));
                let service = business
                    .service(booking.service_id)
                    .map_or("", |s| s.name.as_str());
                render(
                    self.words(),
                    serial,
                    &body(
                        notes,
                        &self.words().which_time(service, &self.words().day(*day)),
                    ),
                    self.words().see(ListOf::Times),
                    options,
                )
            }
            Step::Staff { staff_ids, .. } => {
                let mut options = vec![self.choice(Action::Staff(None), Choice::Anyone)];
                // In the team's order (by name), whatever order the slot lists them in.
                options.extend(
                    business
                        .staff
                        .iter()
                        .filter(|m| staff_ids.contains(&m.id))
                        .map(|m| opt(Action::Staff(Some(m.id)), &m.name)),
                );
                render(
                    self.words(),
                    serial,
                    &body(notes, self.words().which_staff()),
                    self.words().see(ListOf::Team),
                    options,
                )
            }
            Step::Confirm {
                booking,
                starts_at,
                staff_id,
                ..
            } => {
                let Some(service) = business.service(booking.service_id) else {
                    return Ok(Err((
                        Step::Services { page: 0 },
                        self.words().no_services().into(),
                    )));
                };
                let summary = self.words().summary(
                    &service.name,
                    &self.words().price(service.price_minor, &service.currency),
                    service.duration_minutes,
                    &self.words().when(*starts_at, &business.time_zone),
                    staff_id.and_then(|id| business.staff_name(id)),
                    booking.moving.is_some(),
                );
                render(
                    self.words(),
                    serial,
                    &body(notes, &summary),
                    self.words().see(ListOf::Options),
                    vec![
                        self.choice(Action::Confirm, Choice::Confirm),
                        self.choice(Action::Change, Choice::Change),
                        self.choice(Action::Quit, Choice::Quit),
                    ],
                )
            }
            Step::Questions => {
                let rows = self.questions();
                if rows.is_empty() {
                    return Ok(Err((Step::Menu, self.words().no_faq().into())));
                }
                render(
                    self.words(),
                    serial,
                    &body(notes, self.words().faq_which()),
                    self.words().see(ListOf::Options),
                    rows,
                )
            }
            Step::Appointments => {
                let list = match self.upcoming().await {
                    Ok(list) => list,
                    Err(why) => return Ok(Err((Step::Menu, why))),
                };
                if list.is_empty() {
                    return Ok(Err((Step::Menu, self.words().no_appointments().into())));
                }
                let rows: Vec<_> = list
                    .iter()
                    .map(|a| {
                        let service = business
                            .service(a.service_type_id)
                            .map_or(self.words().appointment(), |s| s.name.as_str());
                        row(Action::Appointment(a.id), service, self.when_with(a))
                    })
                    .collect();
                render(
                    self.words(),
                    serial,
                    &body(notes, self.words().your_appointments()),
                    self.words().see(ListOf::Appointments),
                    // Ten at most: a customer rarely has more ahead.
                    rows.into_iter().take(10).collect(),
                )
            }
            Step::Appointment { label, .. } => render(
                self.words(),
                serial,
                &body(notes, label),
                self.words().see(ListOf::Options),
                vec![
                    self.choice(Action::CancelAppointment, Choice::CancelAppointment),
                    self.choice(Action::MoveAppointment, Choice::MoveAppointment),
                    self.choice(Action::Back, Choice::Back),
                ],
            ),
            Step::ConfirmCancel { label, .. } => render(
                self.words(),
                serial,
                &body(notes, &self.words().cancel_question(label)),
                self.words().see(ListOf::Options),
                vec![
                    self.choice(Action::Yes, Choice::YesCancel),
                    self.choice(Action::No, Choice::No),
                ],
            ),
            // The start, and any staff step a customer can't be at.
            _ => render(
                self.words(),
                serial,
                &body(notes, &self.menu_question(notes)),
                self.words().see(ListOf::Options),
                vec![
                    self.choice(Action::Book, Choice::Book),
                    self.choice(Action::Mine, Choice::Mine),
                    self.choice(Action::Human, Choice::Human),
                ],
            ),
        }))
    }

    pub(super) async fn pick_customer(
        &self,
        flow: &Flow,
        action: Action,
        wamid: &str,
    ) -> Result<Next, GuidedError> {
        let step = &flow.step;
        Ok(match (step, action) {
            (Step::Services { page }, Action::More) => {
                Next::show(Step::Services { page: page + 1 })
            }
            (Step::Services { .. }, Action::Service(service_id)) => Next::show(Step::Days {
                booking: Booking {
                    service_id,
                    moving: None,
                },
                page: 0,
            }),
            (Step::Days { booking, page }, Action::More) => Next::show(Step::Days {
                booking: booking.clone(),
                page: page + 1,
            }),
            (Step::Days { booking, .. }, Action::Day(day)) => Next::show(Step::Times {
                booking: booking.clone(),
                day,
                from: 0,
            }),
            (Step::Times { booking, day, from }, Action::Earlier | Action::Later) => {
                Next::show(Step::Times {
                    booking: booking.clone(),
                    day: *day,
                    from: if action == Action::Earlier {
                        from.saturating_sub(TIMES_PER_PAGE)
                    } else {
                        from + TIMES_PER_PAGE
                    },
                })
            }
            (Step::Times { booking, .. }, Action::OtherDays) => Next::show(Step::Days {
                booking: booking.clone(),
                page: 0,
            }),
            (Step::Times { booking, day, .. }, Action::Time(starts_at)) => {
                // Read again: the time may have been taken since the list was shown.
                let slots = match self.free(booking, *day, *day).await {
                    Ok(slots) => slots,
                    Err(why) => return Ok(Next::show_with(step.clone(), why)),
                };
                match slots.into_iter().find(|s| s.starts_at == starts_at) {
                    None => Next::show_with(
                        Step::Times {
                            booking: booking.clone(),
                            day: *day,
                            from: 0,
                        },
                        self.words().slot_gone(),
                    ),
                    Some(slot) if slot.staff_ids.len() > 1 => Next::show(Step::Staff {
                        booking: booking.clone(),
                        starts_at,
                        staff_ids: slot.staff_ids,
                    }),
                    Some(slot) => Next::show(Step::Confirm {
                        booking: booking.clone(),
                        starts_at,
                        staff_id: slot.staff_ids.first().copied(),
                        key: Self::key(wamid),
                    }),
                }
            }
            (
                Step::Staff {
                    booking,
                    starts_at,
                    staff_ids,
                },
                Action::Staff(staff_id),
            ) => {
                if staff_id.is_some_and(|id| !staff_ids.contains(&id)) {
                    return Ok(self.stale(step));
                }
                Next::show(Step::Confirm {
                    booking: booking.clone(),
                    starts_at: *starts_at,
                    staff_id,
                    key: Self::key(wamid),
                })
            }
            (Step::Confirm { booking, .. }, Action::Change) => Next::show(match booking.moving {
                Some(_) => Step::Days {
                    booking: booking.clone(),
                    page: 0,
                },
                None => Step::Services { page: 0 },
            }),
            (Step::Confirm { .. }, Action::Quit) => Next::after(self.words().quit(), Step::Menu),
            (
                Step::Confirm {
                    booking,
                    starts_at,
                    staff_id,
                    key,
                },
                Action::Confirm,
            ) => self.book(booking, *starts_at, *staff_id, key).await?,
            (Step::Questions, Action::Question(n)) => match self.faq_answer(n) {
                Some(answer) => Next::after(answer, Step::Menu),
                None => self.stale(step),
            },
            (Step::Appointments, Action::Appointment(id)) => {
                let list = match self.upcoming().await {
                    Ok(list) => list,
                    Err(why) => return Ok(Next::show_with(step.clone(), why)),
                };
                match list.into_iter().find(|a| a.id == id) {
                    Some(a) => Next::show(Step::Appointment {
                        appointment_id: a.id,
                        service_id: a.service_type_id,
                        label: self.label(&a),
                    }),
                    None => Next::show_with(Step::Appointments, self.words().appointment_gone()),
                }
            }
            (
                Step::Appointment {
                    appointment_id,
                    label,
                    ..
                },
                Action::CancelAppointment,
            ) => Next::show(Step::ConfirmCancel {
                appointment_id: *appointment_id,
                label: label.clone(),
                key: Self::key(wamid),
            }),
            (
                Step::Appointment {
                    appointment_id,
                    service_id,
                    ..
                },
                Action::MoveAppointment,
            ) => Next::show(Step::Days {
                booking: Booking {
                    service_id: *service_id,
                    moving: Some(*appointment_id),
                },
                page: 0,
            }),
            (Step::Appointment { .. }, Action::Back) | (Step::ConfirmCancel { .. }, Action::No) => {
                Next::show(Step::Menu)
            }
            (
                Step::ConfirmCancel {
                    appointment_id,
                    label,
                    key,
                },
                Action::Yes,
            ) => {
                let request = Request::Cancel(CancelRequest {
                    actor: self.person.actor,
                    idempotency_key: key.clone(),
                    appointment_id: *appointment_id,
                    reason: Some(self.words().cancelled_from_menu().into()),
                });
                match self.ask(request).await {
                    Asked::Got(_) => Next::Rest {
                        texts: vec![self.words().cancelled(label)],
                    },
                    Asked::Refused(error) => Next::after(self.refusal(&error), Step::Menu),
                    Asked::Unavailable => Next::show_with(step.clone(), self.words().unavailable()),
                }
            }
            _ => self.stale(step),
        })
    }
}
