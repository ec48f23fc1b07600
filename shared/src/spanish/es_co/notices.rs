use super::EsCo;
use crate::spanish::words::Notices;

impl Notices for EsCo {
    fn hello(&self, name: Option<&str>) -> String {
        match name {
            Some(name) => format!("Hola, {name}. "),
            None => "Hola. ".into(),
        }
    }

    fn quota_reached(&self, business: &str, limit: u64) -> String {
        format!(
            "{business}: el plan gratuito llegó a sus {limit} citas de este mes. Las nuevas \
             reservas quedan en pausa hasta el próximo mes o hasta pasarse al plan de pago."
        )
    }

    fn handoff_notice(&self, customer: &str, reason: &str) -> String {
        format!(
            "{customer} pidió hablar con una persona: «{reason}». El asistente no responderá \
             en esa conversación hasta que usted la libere."
        )
    }

    fn staff_welcome(&self, name: &str, business: &str) -> String {
        format!(
            "¡Hola, {name}! Ya hace parte del equipo de {business} en Cita. Escríbame a este \
             número para ver su agenda («¿qué tengo hoy?»), bloquear un rato («bloquee de 2 a \
             3 para almorzar»), registrar a quien llega sin cita o marcar una cita como \
             completada. Escriba «menú» para ver las opciones."
        )
    }

    fn review_request(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        link: Option<&str>,
    ) -> String {
        let thanks = format!(
            "{hello}¡Gracias por su visita a {business}! ¿Cómo le pareció su {service}? \
             Su opinión nos ayuda mucho."
        );
        match link {
            Some(link) => format!("{thanks}\n\nDéjenos su opinión aquí: {link}"),
            None => thanks,
        }
    }

    fn booked_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        staff: &str,
    ) -> String {
        format!("{hello}{business} le agendó su cita: {service} el {at} con {staff}.")
    }

    fn booked_notice(&self, customer: &str, service: &str, at: &str, staff: &str) -> String {
        format!("Nueva cita: {customer}, {service}, el {at} con {staff}.")
    }

    fn cancelled_for_you(&self, hello: &str, business: &str, service: &str, at: &str) -> String {
        format!(
            "{hello}Su cita de {service} del {at} en {business} fue cancelada. \
             Escríbanos si desea agendar otra."
        )
    }

    fn cancelled_notice(&self, customer: &str, service: &str, at: &str) -> String {
        format!("Cita cancelada: {customer}, {service}, el {at}.")
    }

    fn moved_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        staff: &str,
    ) -> String {
        format!("{hello}Su cita de {service} en {business} se cambió al {at} con {staff}.")
    }

    fn moved_notice(
        &self,
        customer: &str,
        service: &str,
        at: &str,
        staff: &str,
        before: &str,
    ) -> String {
        format!(
            "Cita movida: {customer}, {service}, ahora el {at} con {staff} (antes el {before})."
        )
    }

    fn unnamed_customer(&self) -> &'static str {
        "Cliente sin nombre"
    }

    fn a_customer(&self) -> &'static str {
        "Un cliente"
    }

    fn morning_agenda(&self, name: &str, day: &str, lines: &[String]) -> String {
        match lines.len() {
            0 => format!("Buenos días, {name}. Hoy, {day}, no hay citas en la agenda."),
            n => format!(
                "Buenos días, {name}. Hoy, {day}, {}:\n{}",
                if n == 1 {
                    "hay 1 cita".to_string()
                } else {
                    format!("hay {n} citas")
                },
                lines.join("\n")
            ),
        }
    }

    fn agenda_summary(&self, day: &str, count: usize, first: Option<&str>) -> String {
        let first = first
            .map(|at| format!(" La primera a las {at}."))
            .unwrap_or_default();
        format!("Agenda de hoy, {day}: {count} citas.{first}")
    }

    fn and_more(&self, n: usize) -> String {
        format!("… y {n} más")
    }
}
