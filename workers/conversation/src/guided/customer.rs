//! The customer's flow: book (service → day → time → staff → confirm), their
//! appointments (cancel, move), and talking to a person.

use cita_shared::{
    contracts::scheduling::{
        Appointment, AvailabilityRequest, BookRequest, CancelRequest, CustomerRequest, FreeSlot,
        Outcome, Request, RescheduleRequest, SchedulingError, Source, Who,
    },
    spanish,
};
use jiff::{Timestamp, ToSpan, civil::Date};
use uuid::Uuid;

use super::{
    Asked, Guided, GuidedError, Next,
    action::Action,
    body,
    flow::{Booking, Flow, Step},
    refusal,
    screens::{Screen, opt, page, render, row, window},
    words,
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
                    return Ok(Err((Step::Menu, words::NO_SERVICES.into())));
                }
                let rows = business
                    .services
                    .iter()
                    .map(|s| {
                        row(
                            Action::Service(s.id),
                            &s.name,
                            format!(
                                "{} min · {}",
                                s.duration_minutes,
                                spanish::price(s.price_minor, &s.currency)
                            ),
                        )
                    })
                    .collect();
                render(
                    serial,
                    &body(notes, "¿Qué servicio quieres?"),
                    "Ver servicios",
                    page(rows, *n, "Más servicios"),
                )
            }
            Step::Days { booking, page: n } => {
                let Some(service) = business.service(booking.service_id) else {
                    return Ok(Err((Step::Services { page: 0 }, words::NO_SERVICES.into())));
                };
                let today = self.today();
                let slots = match self
                    .free(
                        booking.service_id,
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
                    return Ok(Err((back, words::no_days(&service.name))));
                }
                let rows = days
                    .into_iter()
                    .map(|(day, n)| {
                        let free = if n == 1 {
                            "1 horario libre".to_owned()
                        } else {
                            format!("{n} horarios libres")
                        };
                        row(Action::Day(day), spanish::short_day(day), free)
                    })
                    .collect();
                render(
                    serial,
                    &body(notes, &format!("{}: ¿qué día te queda bien?", service.name)),
                    "Ver días",
                    page(rows, *n, "Más días"),
                )
            }
            Step::Times { booking, day, from } => {
                let slots = match self.free(booking.service_id, *day, *day).await {
                    Ok(slots) => slots,
                    Err(why) => return Ok(Err((Step::Menu, why))),
                };
                if slots.is_empty() {
                    return Ok(Err((
                        Step::Days {
                            booking: booking.clone(),
                            page: 0,
                        },
                        words::DAY_FULL.into(),
                    )));
                }
                let rows = slots
                    .iter()
                    .map(|slot| {
                        row(
                            Action::Time(slot.starts_at),
                            spanish::clock(slot.starts_at, &business.time_zone),
                            format!("Con {}", self.names(&slot.staff_ids)),
                        )
                    })
                    .collect();
                let mut options = window(rows, *from, TIMES_PER_PAGE);
                options.push(opt(Action::OtherDays, "Otro día"));
                let service = business
                    .service(booking.service_id)
                    .map_or("", |s| s.name.as_str());
                render(
                    serial,
                    &body(
                        notes,
                        &format!("{service}, {}: ¿a qué hora?", spanish::day(*day)),
                    ),
                    "Ver horarios",
                    options,
                )
            }
            Step::Staff { staff_ids, .. } => {
                let mut options = vec![opt(Action::Staff(None), "Me da igual")];
                // In the team's order (by name), whatever order the slot lists them in.
                options.extend(
                    business
                        .staff
                        .iter()
                        .filter(|m| staff_ids.contains(&m.id))
                        .map(|m| opt(Action::Staff(Some(m.id)), &m.name)),
                );
                render(
                    serial,
                    &body(notes, "¿Con quién te gustaría?"),
                    "Ver equipo",
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
                    return Ok(Err((Step::Services { page: 0 }, words::NO_SERVICES.into())));
                };
                let summary = words::summary(
                    &service.name,
                    &spanish::price(service.price_minor, &service.currency),
                    service.duration_minutes,
                    &spanish::when(*starts_at, &business.time_zone),
                    staff_id.and_then(|id| business.staff_name(id)),
                    booking.moving.is_some(),
                );
                render(
                    serial,
                    &body(notes, &summary),
                    "Ver opciones",
                    vec![
                        opt(Action::Confirm, "Confirmar"),
                        opt(Action::Change, "Cambiar"),
                        opt(Action::Quit, "Cancelar"),
                    ],
                )
            }
            Step::Appointments => {
                let list = match self.upcoming().await {
                    Ok(list) => list,
                    Err(why) => return Ok(Err((Step::Menu, why))),
                };
                if list.is_empty() {
                    return Ok(Err((Step::Menu, words::NO_APPOINTMENTS.into())));
                }
                let rows: Vec<_> = list
                    .iter()
                    .map(|a| {
                        let service = business
                            .service(a.service_type_id)
                            .map_or("Cita", |s| s.name.as_str());
                        row(Action::Appointment(a.id), service, self.when_with(a))
                    })
                    .collect();
                render(
                    serial,
                    &body(notes, "Tus próximas citas. ¿Cuál quieres ver?"),
                    "Ver citas",
                    // Ten at most: a customer rarely has more ahead.
                    rows.into_iter().take(10).collect(),
                )
            }
            Step::Appointment { label, .. } => render(
                serial,
                &body(notes, label),
                "Ver opciones",
                vec![
                    opt(Action::CancelAppointment, "Cancelar cita"),
                    opt(Action::MoveAppointment, "Cambiar horario"),
                    opt(Action::Back, "Volver"),
                ],
            ),
            Step::ConfirmCancel { label, .. } => render(
                serial,
                &body(notes, &format!("¿Cancelo tu cita de {label}?")),
                "Ver opciones",
                vec![opt(Action::Yes, "Sí, cancelar"), opt(Action::No, "No")],
            ),
            // The start, and any staff step a customer can't be at.
            _ => render(
                serial,
                &body(notes, &self.menu_question(notes)),
                "Ver opciones",
                vec![
                    opt(Action::Book, "Agendar cita"),
                    opt(Action::Mine, "Mis citas"),
                    opt(Action::Human, "Hablar con alguien"),
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
                let slots = match self.free(booking.service_id, *day, *day).await {
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
                        words::SLOT_GONE,
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
                    return Ok(stale(step));
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
            (Step::Confirm { .. }, Action::Quit) => Next::after(words::QUIT, Step::Menu),
            (
                Step::Confirm {
                    booking,
                    starts_at,
                    staff_id,
                    key,
                },
                Action::Confirm,
            ) => self.book(booking, *starts_at, *staff_id, key).await?,
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
                    None => Next::show_with(Step::Appointments, words::APPOINTMENT_GONE),
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
                    reason: Some("Cancelada por el cliente desde el menú".into()),
                });
                match self.ask(request).await {
                    Asked::Got(_) => Next::Rest {
                        texts: vec![words::cancelled(label)],
                    },
                    Asked::Refused(error) => Next::after(refusal(&error), Step::Menu),
                    Asked::Unavailable => Next::show_with(step.clone(), words::UNAVAILABLE),
                }
            }
            _ => stale(step),
        })
    }

    /// Books (or moves) and confirms; a time taken meanwhile shows the day's free
    /// times again.
    async fn book(
        &self,
        booking: &Booking,
        starts_at: Timestamp,
        staff_id: Option<Uuid>,
        key: &str,
    ) -> Result<Next, GuidedError> {
        let idempotency_key = key.to_owned();
        let request = match booking.moving {
            Some(appointment_id) => Request::Reschedule(RescheduleRequest {
                actor: self.person.actor,
                idempotency_key,
                appointment_id,
                starts_at,
                staff_id,
            }),
            None => Request::Book(BookRequest {
                actor: self.person.actor,
                idempotency_key,
                service_type_id: booking.service_id,
                starts_at,
                staff_id,
                customer_id: None,
                customer_phone: None,
                customer_name: None,
                source: Source::Whatsapp,
                notes: None,
            }),
        };
        let business = self.business;
        Ok(match self.ask(request).await {
            Asked::Got(Outcome::Appointment { appointment }) => {
                let service = business
                    .service(appointment.service_type_id)
                    .map_or("tu servicio", |s| s.name.as_str());
                let when = spanish::when(appointment.starts_at, &business.time_zone);
                let staff = business
                    .staff_name(appointment.staff_id)
                    .unwrap_or("el equipo");
                Next::Rest {
                    texts: vec![match booking.moving {
                        Some(_) => words::moved(service, &when, staff),
                        None => words::booked(service, &when, staff, &business.name),
                    }],
                }
            }
            Asked::Got(_) => Next::after(words::UNAVAILABLE, Step::Menu),
            Asked::Refused(
                SchedulingError::SlotTaken { .. } | SchedulingError::NotAvailable { .. },
            ) => Next::show_with(
                Step::Times {
                    booking: booking.clone(),
                    day: self.local_day(starts_at),
                    from: 0,
                },
                words::SLOT_GONE,
            ),
            Asked::Refused(error) => Next::after(refusal(&error), Step::Menu),
            Asked::Unavailable => Next::show_with(
                Step::Confirm {
                    booking: booking.clone(),
                    starts_at,
                    staff_id,
                    key: key.to_owned(),
                },
                words::UNAVAILABLE,
            ),
        })
    }

    /// The free times for `service_id` from `from` to `to`, or words saying why not.
    async fn free(&self, service_id: Uuid, from: Date, to: Date) -> Result<Vec<FreeSlot>, String> {
        let request = Request::Availability(AvailabilityRequest {
            actor: self.person.actor,
            service_type_id: service_id,
            from,
            to,
            staff_id: None,
        });
        match self.ask(request).await {
            Asked::Got(Outcome::Slots { slots }) => Ok(slots
                .into_iter()
                .filter(|s| s.starts_at > self.now)
                .collect()),
            Asked::Got(_) | Asked::Unavailable => Err(words::UNAVAILABLE.into()),
            Asked::Refused(error) => Err(refusal(&error)),
        }
    }

    async fn upcoming(&self) -> Result<Vec<Appointment>, String> {
        let Who::Customer { customer_id } = self.person.actor.who else {
            return Ok(Vec::new());
        };
        let request = Request::Upcoming(CustomerRequest {
            actor: self.person.actor,
            customer_id,
        });
        match self.ask(request).await {
            Asked::Got(Outcome::Appointments { appointments }) => Ok(appointments
                .into_iter()
                .filter(|a| a.status.is_live())
                .collect()),
            Asked::Got(_) | Asked::Unavailable => Err(words::UNAVAILABLE.into()),
            Asked::Refused(error) => Err(refusal(&error)),
        }
    }

    /// The greeting on a fresh start (or a fallback from the AI); after a note (no
    /// appointments, a hint) just the question.
    fn menu_question(&self, notes: &[String]) -> String {
        match notes {
            [] => words::greeting(self.person.name.as_deref(), &self.business.name),
            [note] if note == words::FALLBACK => {
                words::greeting(self.person.name.as_deref(), &self.business.name)
            }
            _ => "¿Qué quieres hacer?".into(),
        }
    }

    pub(super) fn today(&self) -> Date {
        self.local_day(self.now)
    }

    pub(super) fn local_day(&self, at: Timestamp) -> Date {
        at.to_zoned(self.business.time_zone.clone()).date()
    }

    fn names(&self, staff_ids: &[Uuid]) -> String {
        let names: Vec<&str> = staff_ids
            .iter()
            .filter_map(|id| self.business.staff_name(*id))
            .collect();
        match names.as_slice() {
            [] => "el equipo".into(),
            [one] => (*one).into(),
            [rest @ .., last] => format!("{} o {last}", rest.join(", ")),
        }
    }

    /// "lunes 7 de diciembre, 10:30 · con Luis"
    fn when_with(&self, appointment: &Appointment) -> String {
        let when = spanish::when(appointment.starts_at, &self.business.time_zone);
        match self.business.staff_name(appointment.staff_id) {
            Some(staff) => format!("{when} · con {staff}"),
            None => when,
        }
    }

    /// "Corte de cabello el lunes 7 de diciembre, 10:30 con Luis"
    fn label(&self, appointment: &Appointment) -> String {
        let service = self
            .business
            .service(appointment.service_type_id)
            .map_or("Cita", |s| s.name.as_str());
        let when = spanish::when(appointment.starts_at, &self.business.time_zone);
        match self.business.staff_name(appointment.staff_id) {
            Some(staff) => format!("{service} el {when} con {staff}"),
            None => format!("{service} el {when}"),
        }
    }
}

/// An option the step does not offer (an id from somewhere else): show it again.
pub(super) fn stale(step: &Step) -> Next {
    Next::show_with(step.clone(), words::STALE)
}
