//! What guided mode says, in the organization's Spanish.

use cita_shared::spanish;

pub const HINT: &str = "No te entendí 🙂 Toca una opción o escribe su número.";
pub const NOT_TEXT: &str = "Por ahora solo leo texto y las opciones que toques 🙏";
pub const STALE: &str = "Esa opción ya no está vigente; estas son las de ahora.";
pub const QUIT: &str = "Listo, lo dejamos aquí.";
pub const FALLBACK: &str = "En este momento te atiendo con opciones.";
pub const UNAVAILABLE: &str =
    "La agenda no responde en este momento; intenta de nuevo en un momento 🙏";
pub const SLOT_GONE: &str = "Ese horario se acaba de ocupar 😕 Estos siguen libres:";
pub const NO_SERVICES: &str = "Por ahora no hay servicios para agendar por aquí.";
pub const NO_APPOINTMENTS: &str = "No tienes citas próximas.";
pub const APPOINTMENT_GONE: &str = "Esa cita ya no está activa.";
pub const GONE: &str = "Eso ya no está disponible.";
pub const DAY_FULL: &str = "Ese día ya no tiene horarios libres.";
pub const HANDED_OFF: &str = "Listo, le aviso a una persona del negocio; te escribirá pronto 🙏";
pub const QUOTA: &str = "Por ahora no podemos agendar por aquí. Escribe «hablar con alguien» o toca esa opción en el menú y una persona te ayudará.";
pub const NOTHING_TO_MARK: &str = "No hay citas de hoy por marcar.";
pub const NOTHING_TO_RELEASE: &str = "No hay conversaciones atendidas por una persona ahora.";
pub const NOTHING_TO_BLOCK: &str = "Ya no queda horario para bloquear ese día.";

pub fn greeting(name: Option<&str>, business: &str) -> String {
    match name {
        Some(name) => format!("¡Hola, {name}! Soy el asistente de {business}. ¿Qué quieres hacer?"),
        None => format!("¡Hola! Soy el asistente de {business}. ¿Qué quieres hacer?"),
    }
}

pub fn staff_greeting(name: Option<&str>) -> String {
    format!(
        "Hola{}. ¿Qué necesitas?",
        name.map(|n| format!(", {n}")).unwrap_or_default()
    )
}

pub fn no_days(service: &str) -> String {
    format!("No hay horarios libres para {service} en las próximas dos semanas.")
}

/// The confirmation of a booking, as the assistant words it.
pub fn booked(service: &str, when: &str, staff: &str, business: &str) -> String {
    format!(
        "¡Listo! Quedó tu cita de {service} el {when} con {staff} en {business}. Te esperamos 🙌"
    )
}

pub fn moved(service: &str, when: &str, staff: &str) -> String {
    format!("¡Listo! Tu cita de {service} quedó para el {when} con {staff}.")
}

pub fn cancelled(label: &str) -> String {
    format!("Listo, cancelé tu cita: {label}. Si quieres agendar otra, escribe «hola».")
}

pub fn refused(reason: &str) -> String {
    format!("No se pudo: {reason}.")
}

pub fn summary(
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

pub fn blocked(from: &str, to: &str) -> String {
    format!("Listo: bloqueé tu horario del {from} a las {to}.")
}

pub fn marked(label: &str, completed: bool) -> String {
    let how = if completed {
        "completada"
    } else {
        "como «no vino»"
    };
    format!("Listo: marqué {how} la cita {label}.")
}

pub fn released(who: &str) -> String {
    format!("Listo: el asistente vuelve a atender a {who}.")
}

pub fn agenda(title: &str, date: jiff::civil::Date, lines: &[String]) -> String {
    if lines.is_empty() {
        return format!("{title} ({}): no hay citas.", spanish::day(date));
    }
    format!("{title} ({}):\n{}", spanish::day(date), lines.join("\n"))
}
