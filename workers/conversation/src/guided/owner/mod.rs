//! The owner's screens in guided mode: services and prices, the team, opening hours,
//! closures and holidays, settings and the month's figures. Lists and buttons where the
//! choices are few; a typed value where they are not (a price, a name, a day's shifts,
//! days to close), which is read back and confirmed before anything changes. Every
//! change is the same scheduling request the API and the assistant's tools send, and
//! scheduling checks again that the person is the owner.
//!
//! The owner's texts are written in Spanish that reads right in both locales (no tú or
//! usted verb forms), so Mexico and Colombia share them.

mod apply;
mod pick;
mod words;

use cita_shared::{
    db::Cached,
    spanish::{Choice, ListOf, WEEKDAYS},
};
use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    Guided, GuidedError,
    action::{Action, Topic},
    body,
    customer::Shown,
    flow::Step,
    screens::{Opt, opt, page, render, row},
};
use crate::tools::settings::current_settings;
use cita_shared::spanish::capitalized;
use words::{cutoff_label, day_month, mode_label, reminders_label, shifts_label};

/// Where the owner is among their screens (a [`Step::Manage`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum Manage {
    Menu,
    Services {
        page: usize,
    },
    Service {
        service_id: Uuid,
        name: String,
    },
    Team,
    Member {
        staff_id: Uuid,
        name: String,
        key: String,
    },
    Hours,
    Closures,
    Settings,
    Reminders,
    Reviews,
    Mode,
    Cutoff,
    /// Waiting for a typed value.
    Typing {
        field: Field,
    },
    /// A typed value read back: yes or no.
    Confirm {
        change: Change,
        key: String,
    },
}

/// What a typed value will be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Field {
    Price { service_id: Uuid, name: String },
    Duration { service_id: Uuid, name: String },
    ServiceName,
    ServiceLength { name: String },
    ServicePrice { name: String, minutes: u32 },
    StaffName,
    StaffPhone { name: String },
    DayHours { weekday: u8 },
    Closure,
    ReviewLink,
}

/// A change waiting for the owner's yes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A new service (no id), or one field of an existing one.
    Service {
        service_id: Option<Uuid>,
        name: String,
        minutes: Option<u32>,
        price_minor: Option<i64>,
        retire: bool,
    },
    AddStaff {
        name: String,
        phone: String,
    },
    DayHours {
        weekday: u8,
        shifts: Vec<(Time, Time)>,
    },
    Closure {
        from: Date,
        to: Date,
    },
    Reopen {
        time_off_id: Uuid,
        label: String,
    },
    ReviewLink {
        link: String,
    },
}

/// Reminder offsets the owner can pick, in minutes before the appointment.
const REMINDERS: [&[u32]; 4] = [&[1440], &[1440, 120], &[120], &[]];
/// How long before an appointment customers may still change or cancel it.
const CUTOFFS: [u32; 5] = [0, 120, 240, 720, 1440];

impl Guided<'_> {
    pub(super) async fn show_owner(
        &self,
        manage: &Manage,
        notes: &[String],
        serial: u32,
    ) -> Result<Shown, GuidedError> {
        let words = self.words();
        let back = || self.choice(Action::Back, Choice::Back);
        let list = |question: &str, options: Vec<Opt>| {
            render(
                words,
                serial,
                &body(notes, question),
                words.see(ListOf::Options),
                options,
            )
        };
        Ok(Ok(match manage {
            Manage::Menu => list(
                "¿Qué parte del negocio?",
                vec![
                    row(
                        Action::Manage(Topic::Services),
                        "Servicios y precios",
                        "Precios, duración, nuevos servicios".into(),
                    ),
                    row(
                        Action::Manage(Topic::Team),
                        "Equipo",
                        "Agregar o quitar personas".into(),
                    ),
                    row(
                        Action::Manage(Topic::Hours),
                        "Horario",
                        "Horario de cada día, con comida".into(),
                    ),
                    row(
                        Action::Manage(Topic::Closures),
                        "Cierres y festivos",
                        "Días en que no se atiende".into(),
                    ),
                    row(
                        Action::Manage(Topic::Settings),
                        "Ajustes",
                        "Recordatorios, reseñas, asistente".into(),
                    ),
                    row(
                        Action::Manage(Topic::Figures),
                        "Cifras del mes",
                        "Citas, ingresos, no-shows".into(),
                    ),
                    back(),
                ],
            ),
            Manage::Services { page: n } => {
                let mut rows: Vec<Opt> = self
                    .business
                    .services
                    .iter()
                    .map(|s| {
                        row(
                            Action::Service(s.id),
                            s.name.clone(),
                            format!(
                                "{} · {}",
                                words.length(i64::from(s.duration_minutes)),
                                words.price(s.price_minor, &s.currency)
                            ),
                        )
                    })
                    .collect();
                rows.insert(0, opt(Action::Manage(Topic::New), "Nuevo servicio"));
                list(
                    "¿Qué servicio?",
                    page(rows, *n, words.option(Choice::MoreServices)),
                )
            }
            Manage::Service { service_id, name } => {
                let Some(service) = self.business.service(*service_id) else {
                    return Ok(Err((
                        Step::Manage(Manage::Services { page: 0 }),
                        words.gone().into(),
                    )));
                };
                let summary = format!(
                    "{name}: {}, {}. ¿Qué cambio?",
                    words.length(i64::from(service.duration_minutes)),
                    words.price(service.price_minor, &service.currency)
                );
                list(
                    &summary,
                    vec![
                        opt(Action::Manage(Topic::Price), "Precio"),
                        opt(Action::Manage(Topic::Duration), "Duración"),
                        opt(Action::Manage(Topic::Retire), "Ya no se ofrece"),
                    ],
                )
            }
            Manage::Team => {
                let mut rows: Vec<Opt> = self
                    .business
                    .staff
                    .iter()
                    .filter(|m| !m.owner)
                    .map(|m| opt(Action::Staff(Some(m.id)), m.name.clone()))
                    .collect();
                rows.insert(0, opt(Action::Manage(Topic::New), "Agregar persona"));
                rows.truncate(9);
                rows.push(back());
                list("Equipo: agregar a alguien, o elegir a quién quitar.", rows)
            }
            Manage::Member { name, .. } => list(
                &format!("¿Quitar a {name} del equipo? Sus citas siguen en la agenda."),
                vec![opt(Action::Manage(Topic::Remove), "Sí, quitar"), back()],
            ),
            Manage::Hours => {
                let rows = (1..=7u8)
                    .map(|day| {
                        row(
                            Action::Weekday(day),
                            capitalized(WEEKDAYS[usize::from(day) - 1]),
                            self.day_hours(day),
                        )
                    })
                    .collect();
                list("¿Qué día cambio?", rows)
            }
            Manage::Closures => {
                let mut rows = self.closures().await?;
                rows.insert(0, opt(Action::Manage(Topic::New), "Cerrar días"));
                rows.truncate(9);
                rows.push(back());
                let question = if rows.len() > 2 {
                    "Cerrar días, o elegir un cierre para quitarlo."
                } else {
                    "No hay cierres próximos."
                };
                list(question, rows)
            }
            Manage::Settings => {
                let Ok((settings, _)) = current_settings(self.toolbox, self.business.id).await
                else {
                    return Ok(Err((
                        Step::Manage(Manage::Menu),
                        words.unavailable().into(),
                    )));
                };
                let reviews = if settings.review_request_after_minutes.is_some() {
                    "Activadas"
                } else {
                    "Desactivadas"
                };
                list(
                    "¿Qué ajuste?",
                    vec![
                        row(
                            Action::Manage(Topic::Reminders),
                            "Recordatorios",
                            reminders_label(&settings.reminder_offsets_minutes),
                        ),
                        row(Action::Manage(Topic::Reviews), "Reseñas", reviews.into()),
                        row(
                            Action::Manage(Topic::Mode),
                            "Modo del asistente",
                            mode_label(settings.assistant_mode).into(),
                        ),
                        row(
                            Action::Manage(Topic::Cutoff),
                            "Límite para cambios",
                            cutoff_label(settings.change_cutoff_minutes),
                        ),
                        back(),
                    ],
                )
            }
            Manage::Reminders => list(
                "¿Cuándo se envía el recordatorio?",
                REMINDERS
                    .iter()
                    .enumerate()
                    .map(|(i, o)| opt(Action::Preset(i as u8), reminders_label(o)))
                    .collect(),
            ),
            Manage::Reviews => list(
                "Al terminar una cita se puede pedir una reseña con el enlace del negocio.",
                vec![
                    opt(Action::Manage(Topic::ReviewsOn), "Activar"),
                    opt(Action::Manage(Topic::ReviewsOff), "Desactivar"),
                    opt(Action::Manage(Topic::Link), "Cambiar enlace"),
                ],
            ),
            Manage::Mode => list(
                "¿Quién responde a los clientes?",
                [
                    cita_shared::contracts::scheduling::AssistantMode::Ai,
                    cita_shared::contracts::scheduling::AssistantMode::Guided,
                    cita_shared::contracts::scheduling::AssistantMode::AiWithGuidedFallback,
                ]
                .into_iter()
                .enumerate()
                .map(|(i, m)| opt(Action::Preset(i as u8), mode_label(m)))
                .collect(),
            ),
            Manage::Cutoff => list(
                "¿Hasta cuándo pueden los clientes cambiar o cancelar?",
                CUTOFFS
                    .iter()
                    .enumerate()
                    .map(|(i, m)| opt(Action::Preset(i as u8), cutoff_label(*m)))
                    .collect(),
            ),
            Manage::Typing { field } => list(&self.prompt(field), vec![back()]),
            Manage::Confirm { change, .. } => list(
                &self.read_back(change),
                vec![
                    self.choice(Action::Yes, Choice::Confirm),
                    self.choice(Action::No, Choice::No),
                ],
            ),
        }))
    }

    /// The question a typed value answers, with an example.
    fn prompt(&self, field: &Field) -> String {
        match field {
            Field::Price { name, .. } => format!("Nuevo precio de {name} (por ejemplo: 250)."),
            Field::Duration { name, .. } => format!("Nueva duración de {name}, en minutos (por ejemplo: 45)."),
            Field::ServiceName => "Nombre del servicio nuevo (por ejemplo: Corte y barba).".into(),
            Field::ServiceLength { name } => format!("¿Cuánto dura {name}? En minutos (por ejemplo: 45)."),
            Field::ServicePrice { name, .. } => format!("¿Cuánto cuesta {name}? (por ejemplo: 250)"),
            Field::StaffName => "Nombre de la persona nueva.".into(),
            Field::StaffPhone { name } => format!("Número de WhatsApp de {name} (10 dígitos, o con clave de país)."),
            Field::DayHours { weekday } => format!(
                "Horario del {} ahora: {}. Nuevo horario, por ejemplo «10 a 14 y 16 a 20», o «cerrado».",
                WEEKDAYS[usize::from(*weekday) - 1],
                self.day_hours(*weekday)
            ),
            Field::Closure => "¿Qué días se cierra? Por ejemplo «12/12», «12 de diciembre» o «del 14 al 20 de abril».".into(),
            Field::ReviewLink => "Enlace para dejar una reseña (empieza con https://).".into(),
        }
    }

    /// A change as the owner will confirm it.
    fn read_back(&self, change: &Change) -> String {
        let words = self.words();
        let currency = self
            .business
            .services
            .first()
            .map_or("MXN", |s| s.currency.as_str());
        match change {
            Change::Service {
                service_id: None,
                name,
                minutes,
                price_minor,
                ..
            } => format!(
                "¿Agrego el servicio «{name}», {}, {}?",
                words.length(i64::from(minutes.unwrap_or_default())),
                words.price(price_minor.unwrap_or_default(), currency)
            ),
            Change::Service {
                name, retire: true, ..
            } => format!("¿«{name}» deja de ofrecerse? Su historial se conserva."),
            Change::Service {
                name,
                minutes: Some(m),
                ..
            } => format!("¿{name} dura ahora {}?", words.length(i64::from(*m))),
            Change::Service {
                name, price_minor, ..
            } => format!(
                "¿El precio de {name} queda en {}?",
                words.price(price_minor.unwrap_or_default(), currency)
            ),
            Change::AddStaff { name, phone } => format!(
                "¿Agrego a {name} (+{phone}) al equipo? Le llegará un mensaje de bienvenida."
            ),
            Change::DayHours { weekday, shifts } => format!(
                "¿El {} queda {}?",
                WEEKDAYS[usize::from(*weekday) - 1],
                shifts_label(shifts)
            ),
            Change::Closure { from, to } if from == to => {
                format!("¿Se cierra el negocio el {}?", words.day(*from))
            }
            Change::Closure { from, to } => format!(
                "¿Se cierra el negocio del {} al {}?",
                words.day(*from),
                words.day(*to)
            ),
            Change::Reopen { label, .. } => format!("¿Quito el cierre {label}?"),
            Change::ReviewLink { link } => format!("¿El enlace de reseñas queda {link}?"),
        }
    }

    /// The opening hours of ISO weekday `day`, as the owner reads them.
    fn day_hours(&self, day: u8) -> String {
        let shifts: Vec<String> = self
            .business
            .shifts(usize::from(day))
            .map(|(opens, closes)| format!("{opens}–{closes}"))
            .collect();
        if shifts.is_empty() {
            "cerrado".into()
        } else {
            shifts.join(" y ")
        }
    }

    /// The business's closures and holidays not yet over, as options to remove.
    async fn closures(&self) -> Result<Vec<Opt>, GuidedError> {
        let client = self.toolbox.pool.get().await?;
        let rows = client
            .rows(
                "SELECT id, lower(during), upper(during) FROM availability_exceptions
                 WHERE organization_id = $1 AND staff_id IS NULL AND kind IN ('closure', 'holiday')
                   AND upper(during) > $2
                 ORDER BY lower(during) LIMIT 8",
                &[&self.business.id, &self.now],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let from = self.local_day(r.get(1));
                // The range ends at the midnight after its last day.
                let to = self
                    .local_day(r.get::<_, jiff::Timestamp>(2) - jiff::SignedDuration::from_secs(1));
                // "Martes 8 dic", or "14 abr – 20 abr": a row title holds 24 characters.
                let label = if from == to {
                    self.words().short_day(from)
                } else {
                    format!("{} – {}", day_month(from), day_month(to))
                };
                opt(Action::TimeOff(r.get(0)), label)
            })
            .collect())
    }
}
