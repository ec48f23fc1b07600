//! How the owner's screens write dates, shifts and settings.

use cita_shared::contracts::scheduling::AssistantMode;
use jiff::civil::{Date, Time};

pub(super) fn day_month(date: Date) -> String {
    let month: String = cita_shared::spanish::MONTHS[usize::from(date.month() as u8) - 1]
        .chars()
        .take(3)
        .collect();
    format!("{} {month}", date.day())
}

pub(super) fn shifts_label(shifts: &[(Time, Time)]) -> String {
    if shifts.is_empty() {
        return "cerrado".into();
    }
    let parts: Vec<String> = shifts
        .iter()
        .map(|(o, c)| format!("de {} a {}", o.strftime("%H:%M"), c.strftime("%H:%M")))
        .collect();
    parts.join(" y ")
}

pub(super) fn reminders_label(offsets: &[u32]) -> String {
    let each: Vec<String> = offsets
        .iter()
        .map(|m| match m {
            1440 => "1 día".to_owned(),
            m if m % 1440 == 0 => format!("{} días", m / 1440),
            60 => "1 hora".to_owned(),
            m if m % 60 == 0 => format!("{} horas", m / 60),
            m => format!("{m} minutos"),
        })
        .collect();
    if each.is_empty() {
        "Sin recordatorios".into()
    } else {
        format!("{} antes", each.join(" y "))
    }
}

pub(super) fn cutoff_label(minutes: u32) -> String {
    match minutes {
        0 => "Hasta la hora de la cita".into(),
        1440 => "Hasta 1 día antes".into(),
        m if m % 60 == 0 => format!("Hasta {} horas antes", m / 60),
        m => format!("Hasta {m} minutos antes"),
    }
}

pub(super) fn mode_label(mode: AssistantMode) -> &'static str {
    match mode {
        AssistantMode::Ai => "Asistente con IA",
        AssistantMode::Guided => "Botones, sin IA",
        AssistantMode::AiWithGuidedFallback => "IA, y botones si falla",
    }
}
