//! Spanish as a Mexican business writes it: tú, the 24-hour clock, and pesos grouped
//! with commas and a decimal point ("$1,250.50 MXN").

mod deposits;
mod holds;
mod notices;

use jiff::{Timestamp, civil::Date, tz::TimeZone};

use super::{
    MONTHS, WEEKDAYS, capitalized, grouped,
    words::{AgendaLine, Choice, ListOf, Words},
};

pub struct EsMx;

impl Words for EsMx {
    fn when(&self, at: Timestamp, tz: &TimeZone) -> String {
        let local = at.to_zoned(tz.clone());
        format!("{}, {}", self.day(local.date()), self.clock(at, tz))
    }

    fn clock(&self, at: Timestamp, tz: &TimeZone) -> String {
        let local = at.to_zoned(tz.clone());
        format!("{:02}:{:02}", local.hour(), local.minute())
    }

    fn day(&self, date: Date) -> String {
        format!(
            "{} {} de {}",
            WEEKDAYS[date.weekday().to_monday_zero_offset() as usize],
            date.day(),
            MONTHS[date.month() as usize - 1]
        )
    }

    fn short_day(&self, date: Date) -> String {
        let weekday = WEEKDAYS[date.weekday().to_monday_zero_offset() as usize];
        let month: String = MONTHS[date.month() as usize - 1].chars().take(3).collect();
        format!("{} {} {month}", capitalized(weekday), date.day())
    }

    fn price(&self, minor: i64, currency: &str) -> String {
        let sign = if minor < 0 { "-" } else { "" };
        let units = grouped(minor.unsigned_abs() / 100, ',');
        match minor.unsigned_abs() % 100 {
            0 => format!("{sign}${units} {currency}"),
            cents => format!("{sign}${units}.{cents:02} {currency}"),
        }
    }

    fn not_readable(&self) -> &'static str {
        "Por ahora solo puedo leer mensajes de texto 🙏 ¿Me lo escribes, por favor?"
    }

    fn apology(&self) -> &'static str {
        "Tuvimos un problema técnico y no pude responderte aún. Te contesto en cuanto se resuelva 🙏"
    }

    fn flood(&self) -> &'static str {
        "Recibí varios mensajes seguidos 🙂 Dame un momento y escríbeme en un solo mensaje lo que necesitas."
    }

    fn budget(&self) -> &'static str {
        "Por hoy no puedo seguir atendiendo por aquí. Una persona del negocio te responderá pronto 🙏"
    }

    fn fallback(&self) -> &'static str {
        "Perdón, no te entendí bien. ¿Me lo dices de otra forma?"
    }

    fn handed_to_person(&self) -> &'static str {
        "Le paso tu mensaje a una persona del negocio; te responderá pronto 🙏"
    }

    fn owner_notice_model_down(&self, who: &str, minutes: u64) -> String {
        format!(
            "El asistente no ha podido responder a {who} desde hace {minutes} min por una falla técnica. Reintentará solo; si es urgente, contesta tú desde WhatsApp."
        )
    }

    fn hint(&self) -> &'static str {
        "No te entendí 🙂 Toca una opción o escribe su número."
    }

    fn not_text(&self) -> &'static str {
        "Por ahora solo leo texto y las opciones que toques 🙏"
    }

    fn stale(&self) -> &'static str {
        "Esa opción ya no está vigente; estas son las de ahora."
    }

    fn quit(&self) -> &'static str {
        "Listo, lo dejamos aquí."
    }

    fn where_and_when(&self, business: &str) -> String {
        format!("📍 Así encuentras a {business}:")
    }

    fn how_to_get_there(&self) -> &'static str {
        "Cómo llegar"
    }

    fn no_address(&self) -> &'static str {
        "Aún no tenemos la dirección aquí; pídela a una persona del negocio."
    }

    fn payment_methods(&self) -> &'static str {
        "Formas de pago"
    }

    fn faq_which(&self) -> &'static str {
        "¿Cuál es tu pregunta?"
    }

    fn no_faq(&self) -> &'static str {
        "Aún no hay preguntas frecuentes aquí. Si tienes una duda, elige «Hablar con alguien»."
    }

    fn fallback_note(&self) -> &'static str {
        "En este momento te atiendo con opciones."
    }

    fn unavailable(&self) -> &'static str {
        "La agenda no responde en este momento; intenta de nuevo en un momento 🙏"
    }

    fn slot_gone(&self) -> &'static str {
        "Ese horario se acaba de ocupar 😕 Estos siguen libres:"
    }

    fn no_services(&self) -> &'static str {
        "Por ahora no hay servicios para agendar por aquí."
    }

    fn no_appointments(&self) -> &'static str {
        "No tienes citas próximas."
    }

    fn appointment_gone(&self) -> &'static str {
        "Esa cita ya no está activa."
    }

    fn gone(&self) -> &'static str {
        "Eso ya no está disponible."
    }

    fn day_full(&self) -> &'static str {
        "Ese día ya no tiene horarios libres."
    }

    fn handed_off(&self) -> &'static str {
        "Listo, le aviso a una persona del negocio; te escribirá pronto 🙏"
    }

    fn quota(&self) -> &'static str {
        "Por ahora no podemos agendar por aquí. Escribe «hablar con alguien» o toca esa opción en el menú y una persona te ayudará."
    }

    fn nothing_to_mark(&self) -> &'static str {
        "No hay citas de hoy por marcar."
    }

    fn nothing_to_release(&self) -> &'static str {
        "No hay conversaciones atendidas por una persona ahora."
    }

    fn nothing_to_block(&self) -> &'static str {
        "Ya no queda horario para bloquear ese día."
    }

    fn refused(&self, reason: &str) -> String {
        format!("No se pudo: {reason}.")
    }

    fn already(&self, status: &str) -> String {
        let state = match status {
            "completed" => "completada",
            "cancelled" => "cancelada",
            "no_show" => "marcada como «no vino»",
            "confirmed" => "confirmada",
            _ => "pendiente",
        };
        format!("la cita ya está {state}")
    }

    fn not_yours(&self) -> &'static str {
        "eso no te corresponde"
    }

    fn invalid_request(&self) -> &'static str {
        "esa solicitud no es válida"
    }

    fn too_late(&self, cutoff_minutes: u32) -> String {
        format!(
            "ya no se puede cambiar ni cancelar por aquí: el negocio lo permite hasta {} antes de la cita",
            self.length(i64::from(cutoff_minutes))
        )
    }

    fn greeting(&self, name: Option<&str>, business: &str) -> String {
        match name {
            Some(name) => {
                format!("¡Hola, {name}! Soy el asistente de {business}. ¿Qué quieres hacer?")
            }
            None => format!("¡Hola! Soy el asistente de {business}. ¿Qué quieres hacer?"),
        }
    }

    fn what_now(&self) -> &'static str {
        "¿Qué quieres hacer?"
    }

    fn which_service(&self) -> &'static str {
        "¿Qué servicio quieres?"
    }

    fn service_row(&self, minutes: i32, price: &str) -> String {
        format!("{minutes} min · {price}")
    }

    fn which_day(&self, service: &str) -> String {
        format!("{service}: ¿qué día te queda bien?")
    }

    fn free_times(&self, n: usize) -> String {
        match n {
            1 => "1 horario libre".into(),
            n => format!("{n} horarios libres"),
        }
    }

    fn no_days(&self, service: &str) -> String {
        format!("No hay horarios libres para {service} en las próximas dos semanas.")
    }

    fn which_time(&self, service: &str, day: &str) -> String {
        format!("{service}, {day}: ¿a qué hora?")
    }

    fn with(&self, names: &[&str]) -> String {
        let who = match names {
            [] => self.the_team().to_owned(),
            [one] => (*one).to_owned(),
            [rest @ .., last] => format!("{} o {last}", rest.join(", ")),
        };
        format!("Con {who}")
    }

    fn which_staff(&self) -> &'static str {
        "¿Con quién te gustaría?"
    }

    fn summary(
        &self,
        service: &str,
        price: &str,
        minutes: i32,
        when: &str,
        staff: Option<&str>,
        moving: bool,
    ) -> String {
        let head = if moving {
            "Cambiar tu cita a:"
        } else {
            "Confirma tu cita:"
        };
        let with = staff.unwrap_or("quien esté disponible");
        format!("{head}\n• {service} ({minutes} min, {price})\n• {when}\n• Con {with}")
    }

    fn your_appointments(&self) -> &'static str {
        "Tus próximas citas. ¿Cuál quieres ver?"
    }

    fn cancel_question(&self, label: &str) -> String {
        format!("¿Cancelo tu cita de {label}?")
    }

    fn label(&self, service: &str, when: &str, staff: Option<&str>) -> String {
        match staff {
            Some(staff) => format!("{service} el {when} con {staff}"),
            None => format!("{service} el {when}"),
        }
    }

    fn when_with(&self, when: &str, staff: Option<&str>) -> String {
        match staff {
            Some(staff) => format!("{when} · con {staff}"),
            None => when.to_owned(),
        }
    }

    fn booked(&self, service: &str, when: &str, staff: &str, business: &str) -> String {
        format!(
            "¡Listo! Quedó tu cita de {service} el {when} con {staff} en {business}. Te esperamos 🙌"
        )
    }

    fn moved(&self, service: &str, when: &str, staff: &str) -> String {
        format!("¡Listo! Tu cita de {service} quedó para el {when} con {staff}.")
    }

    fn cancelled(&self, label: &str) -> String {
        format!("Listo, cancelé tu cita: {label}. Si quieres agendar otra, escribe «hola».")
    }

    fn the_team(&self) -> &'static str {
        "el equipo"
    }

    fn cancelled_from_menu(&self) -> &'static str {
        "Cancelada por el cliente desde el menú"
    }

    fn asked_for_person(&self) -> &'static str {
        "Pidió hablar con una persona desde el menú"
    }

    fn appointment(&self) -> &'static str {
        "Cita"
    }

    fn staff_greeting(&self, name: Option<&str>) -> String {
        format!(
            "Hola{}. ¿Qué necesitas?",
            name.map(|n| format!(", {n}")).unwrap_or_default()
        )
    }

    fn block_which_day(&self) -> &'static str {
        "¿Qué día quieres bloquear?"
    }

    fn block_from(&self, day: &str) -> String {
        format!("{day}: ¿desde qué hora?")
    }

    fn block_how_long(&self, from: &str) -> String {
        format!("Desde el {from}. ¿Por cuánto tiempo?")
    }

    fn length(&self, minutes: i64) -> String {
        match minutes {
            m if m < 60 => format!("{m} minutos"),
            60 => "1 hora".into(),
            90 => "1 hora y media".into(),
            m if m % 60 == 0 => format!("{} horas", m / 60),
            m => format!("{m} minutos"),
        }
    }

    fn mark_which(&self) -> &'static str {
        "¿Qué cita de hoy quieres marcar?"
    }

    fn mark_how(&self, label: &str) -> String {
        format!("{label}: ¿cómo quedó?")
    }

    fn release_which(&self) -> &'static str {
        "¿A quién vuelve a atender el asistente?"
    }

    fn agenda_title(&self, tomorrow: bool) -> &'static str {
        if tomorrow {
            "Agenda de mañana"
        } else {
            "Agenda de hoy"
        }
    }

    fn agenda(&self, title: &str, day: &str, lines: &[String]) -> String {
        if lines.is_empty() {
            return format!("{title} ({day}): no hay citas.");
        }
        format!("{title} ({day}):\n{}", lines.join("\n"))
    }

    fn agenda_line(&self, line: &AgendaLine<'_>) -> String {
        let status = if line.completed {
            " ✔️"
        } else if line.no_show {
            " (no vino)"
        } else {
            ""
        };
        format!(
            "{} {} — {} (con {}){status}",
            line.clock, line.service, line.customer, line.staff
        )
    }

    fn agenda_detail(&self, service: &str, staff: &str) -> String {
        format!("{service} · con {staff}")
    }

    fn blocked(&self, from: &str, to: &str) -> String {
        format!("Listo: bloqueé tu horario del {from} a las {to}.")
    }

    fn marked(&self, label: &str, completed: bool) -> String {
        let how = if completed {
            "completada"
        } else {
            "como «no vino»"
        };
        format!("Listo: marqué {how} la cita {label}.")
    }

    fn released(&self, who: &str) -> String {
        format!("Listo: el asistente vuelve a atender a {who}.")
    }

    fn owner_replied(&self) -> &'static str {
        "Respondió alguien del negocio"
    }

    fn option(&self, option: Choice) -> &'static str {
        match option {
            Choice::Book => "Agendar cita",
            Choice::Mine => "Mis citas",
            Choice::Human => "Hablar con alguien",
            Choice::Today => "Agenda de hoy",
            Choice::Tomorrow => "Agenda de mañana",
            Choice::Block => "Bloquear horario",
            Choice::BlockHint => "Marca un rato como no disponible",
            Choice::Mark => "Marcar una cita",
            Choice::MarkHint => "Completada o no vino",
            Choice::Release => "Liberar conversación",
            Choice::ReleaseHint => "Que el asistente vuelva a atender",
            Choice::OtherDay => "Otro día",
            Choice::Anyone => "Me da igual",
            Choice::Confirm => "Confirmar",
            Choice::Change => "Cambiar",
            Choice::Quit => "Cancelar",
            Choice::CancelAppointment => "Cancelar cita",
            Choice::MoveAppointment => "Cambiar horario",
            Choice::Back => "Volver",
            Choice::YesCancel => "Sí, cancelar",
            Choice::No => "No",
            Choice::BlockToday => "Hoy",
            Choice::BlockTomorrow => "Mañana",
            Choice::RestOfDay => "Resto del día",
            Choice::Completed => "Completada",
            Choice::NoShow => "No vino",
            Choice::Earlier => "Más temprano",
            Choice::Later => "Más tarde",
            Choice::MoreServices => "Más servicios",
            Choice::MoreDays => "Más días",
            Choice::MoreAppointments => "Más citas",
        }
    }

    fn see(&self, what: ListOf) -> &'static str {
        match what {
            ListOf::Options => "Ver opciones",
            ListOf::Services => "Ver servicios",
            ListOf::Days => "Ver días",
            ListOf::Times => "Ver horarios",
            ListOf::Team => "Ver equipo",
            ListOf::Appointments => "Ver citas",
            ListOf::Hours => "Ver horas",
            ListOf::Lengths => "Ver duraciones",
            ListOf::Conversations => "Ver conversaciones",
        }
    }

    fn list_footer(&self) -> &'static str {
        "Toca una opción o escribe su número"
    }
}
