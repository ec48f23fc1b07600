//! The staff's and owner's flow: today's and tomorrow's agenda, blocking time, marking
//! an appointment of today completed or no-show, and giving a handed-off conversation
//! back to the assistant. Staff see their own agenda, the owner the whole business's;
//! scheduling checks who may do what.

use cita_shared::{
    contracts::scheduling::{
        BlockTimeRequest, DecideHoldRequest, Outcome, ReleaseRequest, Request, ScheduleRequest,
        SetStatusRequest, Status, Who,
    },
    db::Cached,
    spanish::{AgendaLine, Choice, ListOf},
};
use jiff::{SignedDuration, ToSpan, civil::Date};
use uuid::Uuid;

use super::{
    Asked, Guided, GuidedError, Next,
    action::{Action, Topic},
    body,
    customer::Shown,
    flow::{Flow, Step},
    screens::{Opt, opt, page, render, row, window},
};
use crate::context::Persona;

/// Start times per list when blocking (with "earlier" and "later": nine rows).
const STARTS_PER_PAGE: usize = 7;
/// Lengths offered when blocking, in minutes.
const LENGTHS: [i64; 6] = [30, 60, 90, 120, 180, 240];

impl Guided<'_> {
    fn staff_id(&self) -> Option<Uuid> {
        match self.person.actor.who {
            Who::Staff { staff_id } => Some(staff_id),
            Who::Customer { .. } => None,
        }
    }

    pub(super) async fn show_staff(
        &self,
        step: &Step,
        notes: &[String],
        serial: u32,
    ) -> Result<Shown, GuidedError> {
        Ok(Ok(match step {
            Step::Manage(manage) => return self.show_owner(manage, notes, serial).await,
            Step::BlockDay => render(
                self.words(),
                serial,
                &body(notes, self.words().block_which_day()),
                self.words().see(ListOf::Days),
                vec![
                    self.choice(Action::BlockToday, Choice::BlockToday),
                    self.choice(Action::BlockTomorrow, Choice::BlockTomorrow),
                    self.choice(Action::Back, Choice::Back),
                ],
            ),
            Step::BlockStart { day, from } => {
                let starts = match self.block_starts(*day).await {
                    Ok(starts) => starts,
                    Err(why) => return Ok(Err((Step::StaffMenu, why))),
                };
                if starts.is_empty() {
                    return Ok(Err((
                        Step::StaffMenu,
                        self.words().nothing_to_block().into(),
                    )));
                }
                let rows = starts
                    .into_iter()
                    .map(|at| {
                        opt(
                            Action::StartAt(at),
                            self.words().clock(at, &self.business.time_zone),
                        )
                    })
                    .collect();
                render(
                    self.words(),
                    serial,
                    &body(notes, &self.words().block_from(&self.words().day(*day))),
                    self.words().see(ListOf::Hours),
                    window(self.words(), rows, *from, STARTS_PER_PAGE),
                )
            }
            Step::BlockLength { starts_at, .. } => {
                let mut rows: Vec<_> = LENGTHS
                    .iter()
                    .map(|minutes| {
                        opt(
                            Action::Length(Some(*minutes)),
                            self.words().length(*minutes),
                        )
                    })
                    .collect();
                if matches!(self.closing(*starts_at).await, Ok(Some(_))) {
                    rows.push(self.choice(Action::Length(None), Choice::RestOfDay));
                }
                render(
                    self.words(),
                    serial,
                    &body(
                        notes,
                        &format!(
                            "Desde el {}. ¿Por cuánto tiempo?",
                            self.words().when(*starts_at, &self.business.time_zone)
                        ),
                    ),
                    self.words().see(ListOf::Lengths),
                    rows,
                )
            }
            Step::Marking { page: n } => {
                let today = self.today();
                let agenda = match self.agenda(today).await? {
                    Ok(agenda) => agenda,
                    Err(why) => return Ok(Err((Step::StaffMenu, why))),
                };
                let rows: Vec<_> = agenda
                    .into_iter()
                    .filter(|a| a.live)
                    .map(|a| {
                        row(
                            Action::Appointment(a.id),
                            format!("{} {}", a.clock, a.customer),
                            a.detail,
                        )
                    })
                    .collect();
                if rows.is_empty() {
                    return Ok(Err((
                        Step::StaffMenu,
                        self.words().nothing_to_mark().into(),
                    )));
                }
                render(
                    self.words(),
                    serial,
                    &body(notes, self.words().mark_which()),
                    self.words().see(ListOf::Appointments),
                    page(rows, *n, self.words().option(Choice::MoreAppointments)),
                )
            }
            Step::MarkAs { label, .. } => render(
                self.words(),
                serial,
                &body(notes, &self.words().mark_how(label)),
                self.words().see(ListOf::Options),
                vec![
                    self.choice(Action::Completed, Choice::Completed),
                    self.choice(Action::NoShow, Choice::NoShow),
                    self.choice(Action::Back, Choice::Back),
                ],
            ),
            Step::Holds | Step::Hold { .. } => return self.show_holds(step, notes, serial).await,
            Step::Releasing => {
                let client = self.toolbox.pool.get().await?;
                let rows = client
                    .rows(
                        "SELECT v.id, COALESCE(c.name, v.wa_id), v.handoff_reason
                         FROM conversations v LEFT JOIN customers c ON c.id = v.customer_id
                         WHERE v.organization_id = $1 AND v.status = 'handed_off'
                           AND (v.handed_off_until IS NULL OR v.handed_off_until > now())
                         ORDER BY v.updated_at DESC LIMIT 10",
                        &[&self.business.id],
                    )
                    .await?;
                if rows.is_empty() {
                    return Ok(Err((
                        Step::StaffMenu,
                        self.words().nothing_to_release().into(),
                    )));
                }
                let options = rows
                    .iter()
                    .map(|r| {
                        let id: Uuid = r.get(0);
                        let who: String = r.get(1);
                        let why: Option<String> = r.get(2);
                        Opt {
                            action: Action::Conversation(id),
                            title: who,
                            description: why
                                .filter(|w| !w.is_empty())
                                .map(|w| self.reason_words(&w)),
                        }
                    })
                    .collect();
                render(
                    self.words(),
                    serial,
                    &body(notes, self.words().release_which()),
                    self.words().see(ListOf::Conversations),
                    options,
                )
            }
            // The start, and any customer step staff can't be at.
            _ => render(
                self.words(),
                serial,
                &body(
                    notes,
                    &self.words().staff_greeting(self.person.name.as_deref()),
                ),
                self.words().see(ListOf::Options),
                self.holds_row()
                    .await?
                    .into_iter()
                    .chain([
                        self.choice(Action::Today, Choice::Today),
                        self.choice(Action::Tomorrow, Choice::Tomorrow),
                        row(
                            Action::Block,
                            self.words().option(Choice::Block),
                            self.words().option(Choice::BlockHint).into(),
                        ),
                        row(
                            Action::Mark,
                            self.words().option(Choice::Mark),
                            self.words().option(Choice::MarkHint).into(),
                        ),
                        row(
                            Action::Release,
                            self.words().option(Choice::Release),
                            self.words().option(Choice::ReleaseHint).into(),
                        ),
                    ])
                    .chain((self.person.persona == Persona::Owner).then(|| {
                        row(
                            Action::Manage(Topic::Menu),
                            "Administrar",
                            "Servicios, equipo, horario, ajustes, cifras".into(),
                        )
                    }))
                    .collect(),
            ),
        }))
    }

    pub(super) async fn pick_staff(
        &self,
        flow: &Flow,
        action: Action,
        wamid: &str,
    ) -> Result<Next, GuidedError> {
        let step = &flow.step;
        let title = flow.title_of(action);
        Ok(match (step, action) {
            (_, Action::Today | Action::Tomorrow) => {
                let tomorrow = action == Action::Tomorrow;
                let day = if tomorrow {
                    self.today().saturating_add(1.day())
                } else {
                    self.today()
                };
                let title = self.words().agenda_title(tomorrow);
                match self.agenda(day).await? {
                    Ok(agenda) => {
                        let lines: Vec<String> = agenda.into_iter().map(|a| a.line).collect();
                        let text = self.words().agenda(title, &self.words().day(day), &lines);
                        Next::after(text, Step::StaffMenu)
                    }
                    Err(why) => Next::show_with(Step::StaffMenu, why),
                }
            }
            (_, Action::Decide(appointment_id, approve)) => {
                let request = Request::DecideHold(DecideHoldRequest {
                    actor: self.person.actor,
                    idempotency_key: Self::key(wamid),
                    appointment_id,
                    approve,
                    reason: None,
                });
                match self.ask(request).await {
                    Asked::Got(_) => {
                        Next::after(self.words().hold_decided(approve), Step::StaffMenu)
                    }
                    Asked::Refused(error) => Next::after(self.refusal(&error), Step::StaffMenu),
                    Asked::Unavailable => {
                        Next::show_with(Step::StaffMenu, self.words().unavailable())
                    }
                }
            }
            (_, Action::Block) => Next::show(Step::BlockDay),
            (_, Action::Mark) => Next::show(Step::Marking { page: 0 }),
            (_, Action::Release) => Next::show(Step::Releasing),
            (_, Action::Requests) | (Step::Hold { .. }, Action::Back) => Next::show(Step::Holds),
            (Step::Holds, Action::Appointment(appointment_id)) => {
                Next::show(Step::Hold { appointment_id })
            }
            (Step::Manage(manage), _) => {
                return self.pick_owner(manage, action, title, wamid).await;
            }
            (_, Action::Manage(Topic::Menu)) if self.person.persona == Persona::Owner => {
                Next::show(Step::Manage(super::owner::Manage::Menu))
            }
            (Step::BlockDay, Action::BlockToday) => Next::show(Step::BlockStart {
                day: self.today(),
                from: 0,
            }),
            (Step::BlockDay, Action::BlockTomorrow) => Next::show(Step::BlockStart {
                day: self.today().saturating_add(1.day()),
                from: 0,
            }),
            (Step::BlockDay, Action::Back) | (Step::MarkAs { .. }, Action::Back) => {
                Next::show(Step::StaffMenu)
            }
            (Step::BlockStart { day, from }, Action::Earlier | Action::Later) => {
                Next::show(Step::BlockStart {
                    day: *day,
                    from: if action == Action::Earlier {
                        from.saturating_sub(STARTS_PER_PAGE)
                    } else {
                        from + STARTS_PER_PAGE
                    },
                })
            }
            (Step::BlockStart { .. }, Action::StartAt(starts_at)) => {
                Next::show(Step::BlockLength {
                    starts_at,
                    key: Self::key(wamid),
                })
            }
            (Step::BlockLength { starts_at, key }, Action::Length(length)) => {
                let ends_at = match length {
                    None => match self.closing(*starts_at).await {
                        Ok(closing) => closing,
                        Err(why) => return Ok(Next::show_with(step.clone(), why)),
                    },
                    Some(minutes) => LENGTHS
                        .contains(&minutes)
                        .then(|| *starts_at + SignedDuration::from_mins(minutes)),
                };
                let (Some(ends_at), Some(staff_id)) = (ends_at, self.staff_id()) else {
                    return Ok(self.stale(step));
                };
                let request = Request::BlockTime(BlockTimeRequest {
                    actor: self.person.actor,
                    idempotency_key: key.clone(),
                    staff_id,
                    starts_at: *starts_at,
                    ends_at,
                    reason: None,
                });
                let tz = &self.business.time_zone;
                match self.ask(request).await {
                    Asked::Got(_) => Next::after(
                        self.words().blocked(
                            &self.words().when(*starts_at, tz),
                            &self.words().clock(ends_at, tz),
                        ),
                        Step::StaffMenu,
                    ),
                    Asked::Refused(error) => Next::after(self.refusal(&error), Step::StaffMenu),
                    Asked::Unavailable => Next::show_with(step.clone(), self.words().unavailable()),
                }
            }
            (Step::Marking { page }, Action::More) => Next::show(Step::Marking { page: page + 1 }),
            (Step::Marking { .. }, Action::Appointment(appointment_id)) => {
                Next::show(Step::MarkAs {
                    appointment_id,
                    label: title,
                    key: Self::key(wamid),
                })
            }
            (
                Step::MarkAs {
                    appointment_id,
                    label,
                    key,
                },
                Action::Completed | Action::NoShow,
            ) => {
                let completed = action == Action::Completed;
                let request = Request::SetStatus(SetStatusRequest {
                    actor: self.person.actor,
                    idempotency_key: key.clone(),
                    appointment_id: *appointment_id,
                    status: if completed {
                        Status::Completed
                    } else {
                        Status::NoShow
                    },
                    notes: None,
                });
                match self.ask(request).await {
                    Asked::Got(_) => {
                        Next::after(self.words().marked(label, completed), Step::StaffMenu)
                    }
                    Asked::Refused(error) => Next::after(self.refusal(&error), Step::StaffMenu),
                    Asked::Unavailable => Next::show_with(step.clone(), self.words().unavailable()),
                }
            }
            // Through scheduling, as the API's release: the same rule (the owner, or
            // staff who see the whole business), the audit log and the live event.
            (Step::Releasing, Action::Conversation(conversation_id)) => {
                let request = Request::Release(ReleaseRequest {
                    actor: self.person.actor,
                    idempotency_key: Self::key(wamid),
                    conversation_id,
                });
                match self.ask(request).await {
                    Asked::Got(_) => Next::after(self.words().released(&title), Step::StaffMenu),
                    Asked::Refused(error) => Next::after(self.refusal(&error), Step::StaffMenu),
                    Asked::Unavailable => Next::show_with(step.clone(), self.words().unavailable()),
                }
            }
            _ => self.stale(step),
        })
    }

    /// A handoff's reason as staff read it: the assistant's own words, or what a code means.
    fn reason_words(&self, reason: &str) -> String {
        match reason {
            "owner_replied" => self.words().owner_replied().into(),
            other => other.to_owned(),
        }
    }

    /// The agenda of `day`: the person's own, or the whole business's for the owner.
    async fn agenda(&self, day: Date) -> Result<Result<Vec<Entry>, String>, GuidedError> {
        let request = Request::Schedule(ScheduleRequest {
            actor: self.person.actor,
            from: day,
            to: day,
            staff_id: if self.person.persona == Persona::Owner {
                None
            } else {
                self.staff_id()
            },
        });
        let appointments = match self.ask(request).await {
            Asked::Got(Outcome::Appointments { appointments }) => appointments,
            Asked::Got(_) | Asked::Unavailable => {
                return Ok(Err(self.words().unavailable().into()));
            }
            Asked::Refused(error) => return Ok(Err(self.refusal(&error))),
        };
        let ids: Vec<Uuid> = appointments.iter().map(|a| a.customer_id).collect();
        let client = self.toolbox.pool.get().await?;
        let names = crate::context::customer_names(&client, self.business.id, &ids).await?;
        let tz = &self.business.time_zone;
        Ok(Ok(appointments
            .into_iter()
            .filter(|a| a.status != Status::Cancelled)
            .map(|a| {
                let customer = names
                    .iter()
                    .find(|(id, _)| *id == a.customer_id)
                    .map_or(String::new(), |(_, name)| name.clone());
                let service = self
                    .business
                    .service(a.service_type_id)
                    .map_or(self.words().appointment(), |s| s.name.as_str());
                let staff = self.business.staff_name(a.staff_id).unwrap_or("");
                let clock = self.words().clock(a.starts_at, tz);
                let line = self.words().agenda_line(&AgendaLine {
                    clock: &clock,
                    service,
                    customer: &customer,
                    staff,
                    completed: a.status == Status::Completed,
                    no_show: a.status == Status::NoShow,
                });
                Entry {
                    id: a.id,
                    live: a.status.is_live(),
                    line,
                    detail: self.words().agenda_detail(service, staff),
                    clock,
                    customer,
                }
            })
            .collect()))
    }
}

/// One appointment of an agenda, as staff read it.
struct Entry {
    id: Uuid,
    live: bool,
    clock: String,
    customer: String,
    detail: String,
    line: String,
}
