use super::EsMx;
use crate::spanish::words::Deposits;

impl Deposits for EsMx {
    fn held_for_deposit(
        &self,
        service: &str,
        at: &str,
        staff: &str,
        amount: &str,
        until: &str,
    ) -> String {
        format!(
            "Te apartamos {service} el {at} con {staff}. Se confirma al pagar un anticipo de \
             {amount} antes del {until}: te mando el enlace de pago en un momento."
        )
    }

    fn deposit_request_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        amount: &str,
        until: &str,
        link: &str,
    ) -> String {
        format!(
            "{hello}{business} te apartó {service} el {at}. Para confirmarla paga el anticipo \
             de {amount} antes del {until} aquí: {link}\nSi no se paga a tiempo, el horario \
             se libera."
        )
    }

    fn deposit_mismatch_notice(
        &self,
        customer: &str,
        service: &str,
        at: &str,
        asked: &str,
        paid: &str,
    ) -> String {
        format!(
            "Llegó un pago de {paid} de {customer} por {service} el {at}, pero el anticipo \
             era de {asked}. La cita sigue sin confirmar: revísalo en Mercado Pago."
        )
    }

    fn deposit_refund_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
        amount: &str,
    ) -> String {
        format!(
            "{hello}tu pago llegó cuando el horario de {service} el {at} en {business} ya se \
             había liberado y alguien más lo tomó. Te devolvemos los {amount}; escríbenos si \
             quieres otro horario."
        )
    }

    fn deposit_lapsed_for_you(
        &self,
        hello: &str,
        business: &str,
        service: &str,
        at: &str,
    ) -> String {
        format!(
            "{hello}no recibimos a tiempo el anticipo de tu {service} del {at} en {business}, \
             así que el horario se liberó. Escríbenos si quieres buscar otro."
        )
    }

    fn deposit_refund_notice(
        &self,
        customer: &str,
        service: &str,
        at: &str,
        amount: &str,
    ) -> String {
        format!(
            "{customer} pagó el anticipo de {service} del {at} cuando el horario ya estaba \
             ocupado; se le devuelven los {amount}."
        )
    }
}
