//! What the owner's taps and typed values do: move between screens, or lead to a change
//! that is read back first (typed values) or made at once (a preset tapped in a list).

use cita_shared::{
    contracts::scheduling::{AssistantMode, Settings},
    whatsapp::phone,
};

use cita_shared::typed;

use super::{super::Next, CUTOFFS, Change, Field, Guided, Manage, REMINDERS};
use crate::guided::{
    GuidedError,
    action::{Action, Topic},
    flow::Step,
};

fn show(manage: Manage) -> Next {
    Next::show(Step::Manage(manage))
}

impl Guided<'_> {
    pub(in crate::guided) async fn pick_owner(
        &self,
        manage: &Manage,
        action: Action,
        title: String,
        wamid: &str,
    ) -> Result<Next, GuidedError> {
        let key = Self::key(wamid);
        Ok(match (manage, action) {
            (_, Action::Manage(Topic::Menu)) => show(Manage::Menu),
            (Manage::Menu, Action::Back) => Next::show(Step::StaffMenu),
            (_, Action::Back) => show(Manage::Menu),
            (_, Action::Manage(Topic::Services)) => show(Manage::Services { page: 0 }),
            (_, Action::Manage(Topic::Team)) => show(Manage::Team),
            (_, Action::Manage(Topic::Hours)) => show(Manage::Hours),
            (_, Action::Manage(Topic::Closures)) => show(Manage::Closures),
            (_, Action::Manage(Topic::Settings)) => show(Manage::Settings),
            (_, Action::Manage(Topic::Figures)) => self.figures().await?,
            (Manage::Services { page }, Action::More) => show(Manage::Services { page: page + 1 }),
            (Manage::Services { .. }, Action::Manage(Topic::New)) => typing(Field::ServiceName),
            (Manage::Services { .. }, Action::Service(service_id)) => show(Manage::Service {
                service_id,
                name: title,
            }),
            (Manage::Service { service_id, name }, Action::Manage(Topic::Price)) => {
                typing(Field::Price {
                    service_id: *service_id,
                    name: name.clone(),
                })
            }
            (Manage::Service { service_id, name }, Action::Manage(Topic::Duration)) => {
                typing(Field::Duration {
                    service_id: *service_id,
                    name: name.clone(),
                })
            }
            (Manage::Service { service_id, name }, Action::Manage(Topic::Retire)) => confirm(
                Change::Service {
                    service_id: Some(*service_id),
                    name: name.clone(),
                    minutes: None,
                    price_minor: None,
                    retire: true,
                },
                key,
            ),
            (Manage::Team, Action::Manage(Topic::New)) => typing(Field::StaffName),
            (Manage::Team, Action::Staff(Some(staff_id))) => show(Manage::Member {
                staff_id,
                name: title,
                key,
            }),
            (
                Manage::Member {
                    staff_id,
                    name,
                    key,
                },
                Action::Manage(Topic::Remove),
            ) => self.remove_member(*staff_id, name, key).await?,
            (Manage::Hours, Action::Weekday(weekday)) => typing(Field::DayHours { weekday }),
            (Manage::Closures, Action::Manage(Topic::New)) => typing(Field::Closure),
            (Manage::Closures, Action::TimeOff(time_off_id)) => confirm(
                Change::Reopen {
                    time_off_id,
                    label: title,
                },
                key,
            ),
            (Manage::Settings, Action::Manage(Topic::Reminders)) => show(Manage::Reminders),
            (Manage::Settings, Action::Manage(Topic::Reviews)) => show(Manage::Reviews),
            (Manage::Settings, Action::Manage(Topic::Mode)) => show(Manage::Mode),
            (Manage::Settings, Action::Manage(Topic::Cutoff)) => show(Manage::Cutoff),
            (Manage::Reminders, Action::Preset(n)) => match REMINDERS.get(usize::from(n)) {
                Some(offsets) => {
                    self.settings(manage, &key, |s| {
                        s.reminder_offsets_minutes = offsets.to_vec();
                    })
                    .await?
                }
                None => self.stale(&Step::Manage(manage.clone())),
            },
            (Manage::Cutoff, Action::Preset(n)) => match CUTOFFS.get(usize::from(n)) {
                Some(minutes) => {
                    self.settings(manage, &key, |s| s.change_cutoff_minutes = *minutes)
                        .await?
                }
                None => self.stale(&Step::Manage(manage.clone())),
            },
            (Manage::Mode, Action::Preset(n)) => {
                let modes = [
                    AssistantMode::Ai,
                    AssistantMode::Guided,
                    AssistantMode::AiWithGuidedFallback,
                ];
                match modes.get(usize::from(n)) {
                    Some(mode) => {
                        self.settings(manage, &key, |s| s.assistant_mode = *mode)
                            .await?
                    }
                    None => self.stale(&Step::Manage(manage.clone())),
                }
            }
            (Manage::Reviews, Action::Manage(Topic::ReviewsOn | Topic::ReviewsOff)) => {
                let on = action == Action::Manage(Topic::ReviewsOn);
                self.settings(manage, &key, |s| review_requests(s, on))
                    .await?
            }
            (Manage::Reviews, Action::Manage(Topic::Link)) => typing(Field::ReviewLink),
            (Manage::Confirm { change, key }, Action::Yes) => self.apply(change, key).await?,
            (Manage::Confirm { .. }, Action::No) => {
                Next::show_with(Step::Manage(Manage::Menu), "No cambió nada.")
            }
            _ => self.stale(&Step::Manage(manage.clone())),
        })
    }

    /// A value typed at a [`Manage::Typing`] screen: the next question, the read-back,
    /// or the same question again with why the value was not taken.
    pub(in crate::guided) fn typed_owner(&self, field: &Field, text: &str, wamid: &str) -> Next {
        let key = Self::key(wamid);
        let again = |why: &str| {
            Next::show_with(
                Step::Manage(Manage::Typing {
                    field: field.clone(),
                }),
                why,
            )
        };
        let text = text.trim();
        match field {
            Field::Price { service_id, name } => match typed::price(text) {
                Some(price) => confirm(
                    Change::Service {
                        service_id: Some(*service_id),
                        name: name.clone(),
                        minutes: None,
                        price_minor: Some(price),
                        retire: false,
                    },
                    key,
                ),
                None => again("Ese precio no se entiende."),
            },
            Field::Duration { service_id, name } => match service_minutes(text) {
                Some(minutes) => confirm(
                    Change::Service {
                        service_id: Some(*service_id),
                        name: name.clone(),
                        minutes: Some(minutes),
                        price_minor: None,
                        retire: false,
                    },
                    key,
                ),
                None => again("La duración va de 5 a 720 minutos."),
            },
            Field::ServiceName => match name(text) {
                Some(name) => typing(Field::ServiceLength { name }),
                None => again("El nombre lleva de 1 a 80 letras."),
            },
            Field::ServiceLength { name } => match service_minutes(text) {
                Some(minutes) => typing(Field::ServicePrice {
                    name: name.clone(),
                    minutes,
                }),
                None => again("La duración va de 5 a 720 minutos."),
            },
            Field::ServicePrice { name, minutes } => match typed::price(text) {
                Some(price) => confirm(
                    Change::Service {
                        service_id: None,
                        name: name.clone(),
                        minutes: Some(*minutes),
                        price_minor: Some(price),
                        retire: false,
                    },
                    key,
                ),
                None => again("Ese precio no se entiende."),
            },
            Field::StaffName => match name(text) {
                Some(name) => typing(Field::StaffPhone { name }),
                None => again("El nombre lleva de 1 a 80 letras."),
            },
            Field::StaffPhone { name } => {
                match phone::parse_typed(text, phone::country_code(&self.business.locale)) {
                    Some(phone) => confirm(
                        Change::AddStaff {
                            name: name.clone(),
                            phone,
                        },
                        key,
                    ),
                    None => again("Ese número no parece de WhatsApp."),
                }
            }
            Field::DayHours { weekday } => match typed::shifts(text) {
                Some(shifts) => confirm(
                    Change::DayHours {
                        weekday: *weekday,
                        shifts,
                    },
                    key,
                ),
                None => again("Ese horario no se entiende."),
            },
            Field::Closure => match typed::days(text, self.today()) {
                Some((from, to)) => confirm(Change::Closure { from, to }, key),
                None => again("Esas fechas no se entienden."),
            },
            Field::ReviewLink => {
                let valid = text.starts_with("https://")
                    && text.len() > "https://".len()
                    && text.len() <= 500
                    && !text.chars().any(char::is_whitespace);
                if valid {
                    confirm(
                        Change::ReviewLink {
                            link: text.to_owned(),
                        },
                        key,
                    )
                } else {
                    again("El enlace empieza con https:// y no lleva espacios.")
                }
            }
        }
    }
}

fn typing(field: Field) -> Next {
    show(Manage::Typing { field })
}

fn confirm(change: Change, key: String) -> Next {
    show(Manage::Confirm { change, key })
}

fn name(text: &str) -> Option<String> {
    let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty() && name.chars().count() <= 80).then_some(name)
}

fn service_minutes(text: &str) -> Option<u32> {
    typed::minutes(text).filter(|m| (5..=720).contains(m))
}

/// Review requests on (two hours after the visit unless set) or off.
pub(super) fn review_requests(settings: &mut Settings, on: bool) {
    settings.review_request_after_minutes = if on {
        settings.review_request_after_minutes.or(Some(120))
    } else {
        None
    };
}
