use super::EsMx;
use crate::spanish::words::Holds;

impl Holds for EsMx {
    fn held_for_you(&self, service: &str, at: &str, staff: &str, until: &str) -> String {
        format!(
            "Te apartamos {service} el {at} con {staff}. Falta que el negocio la confirme: \
             te avisamos por aquí a más tardar el {until}. Mientras, nadie más puede tomar \
             ese horario."
        )
    }

    fn hold_request(&self, customer: &str, service: &str, at: &str, until: &str) -> String {
        format!(
            "{customer} pide {service} el {at}. ¿La apruebas? El horario queda apartado \
             hasta el {until}; si nadie responde, se libera."
        )
    }

    fn approve(&self) -> &'static str {
        "Aprobar"
    }

    fn reject(&self) -> &'static str {
        "Rechazar"
    }

    fn hold_decided(&self, approved: bool) -> &'static str {
        if approved {
            "Listo: la cita quedó confirmada y le avisamos al cliente."
        } else {
            "Listo: la rechazaste, el horario quedó libre y le avisamos al cliente."
        }
    }

    fn hold_expired(&self) -> &'static str {
        "la solicitud venció sin respuesta y su horario se liberó"
    }

    fn hold_rejected_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        reason: Option<&str>,
    ) -> String {
        let why = reason.map(|r| format!(" Motivo: {r}.")).unwrap_or_default();
        format!(
            "{hello}{business} no pudo confirmar tu {service} del {at}.{why} Escríbenos si \
             quieres buscar otro horario."
        )
    }

    fn hold_expired_for_you(&self, hello: &str, business: &str, service: &str, at: &str) -> String {
        format!(
            "{hello}{business} no alcanzó a confirmar tu {service} del {at} y el horario se \
             liberó. Escríbenos si quieres buscar otro."
        )
    }

    fn hold_expired_notice(&self, customer: &str, service: &str, at: &str) -> String {
        format!(
            "La solicitud de {customer} para {service} el {at} venció sin respuesta; el \
             horario quedó libre y le avisamos."
        )
    }

    fn holds_option(&self, waiting: usize) -> String {
        format!("Por aprobar ({waiting})")
    }

    fn holds_hint(&self) -> &'static str {
        "Reservas que esperan tu respuesta"
    }

    fn holds_which(&self) -> &'static str {
        "¿Cuál solicitud respondes?"
    }

    fn nothing_to_decide(&self) -> &'static str {
        "No hay solicitudes esperando respuesta."
    }
}
