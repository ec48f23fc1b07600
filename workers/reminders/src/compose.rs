//! What a due notification says: composed from fresh data at the moment it is sent (an
//! appointment moved or cancelled meanwhile is not announced in its old form), with the
//! template that carries it when the recipient's 24-hour window is closed.

use cita_shared::{
    contracts::outbound::{Message, Purpose, Template},
    error::Infra,
    spanish::{self, clock, notice, template, text, when},
};
use deadpool_postgres::Transaction;
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use serde_json::Value;
use uuid::Uuid;

use crate::kind::Kind;

/// A due row with what composing its message needs.
pub(crate) struct Due {
    pub(crate) id: Uuid,
    pub(crate) organization_id: Uuid,
    pub(crate) kind: Kind,
    pub(crate) command_id: Uuid,
    pub(crate) details: Value,
    pub(crate) stale_at: Timestamp,
    pub(crate) staff_id: Option<Uuid>,
    pub(crate) business: String,
    pub(crate) tz: TimeZone,
    pub(crate) locale: String,
    pub(crate) recipient: Option<String>,
    pub(crate) recipient_name: Option<String>,
    pub(crate) recipient_is_owner: bool,
    pub(crate) conversation_id: Option<Uuid>,
    pub(crate) appointment: Option<AppointmentView>,
}

pub(crate) struct AppointmentView {
    pub(crate) starts_at: Timestamp,
    pub(crate) live: bool,
    pub(crate) service: String,
    pub(crate) staff_name: String,
    pub(crate) customer_name: Option<String>,
}

/// Why a due row is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    Stale,
    NoRecipient,
    AppointmentNotLive,
    NoAppointments,
}

impl Skip {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Skip::Stale => "stale",
            Skip::NoRecipient => "no_recipient",
            Skip::AppointmentNotLive => "appointment_not_live",
            Skip::NoAppointments => "no_appointments",
        }
    }
}

pub(crate) type Composed = (Message, Option<Template>, Purpose);

/// A notification to staff, composed.
fn plain(message: (Message, Option<Template>)) -> Result<Result<Composed, Skip>, Infra> {
    Ok(Ok((message.0, message.1, Purpose::Notification)))
}

/// The message for one due row, or why it is not sent.
pub(crate) async fn compose(
    tx: &Transaction<'_>,
    due: &Due,
    now: Timestamp,
) -> Result<Result<Composed, Skip>, Infra> {
    if now >= due.stale_at {
        return Ok(Err(Skip::Stale));
    }
    if due.recipient.is_none() {
        return Ok(Err(Skip::NoRecipient));
    }
    let locale = due.locale.as_str();
    let business = due.business.as_str();
    if due.kind == Kind::Agenda {
        return agenda(tx, due).await;
    }
    match (due.kind, &due.appointment) {
        (Kind::QuotaExceeded, _) => {
            let limit = due.details["limit"].as_u64().unwrap_or_default();
            plain(notice(
                format!(
                    "{business}: el plan gratuito llegó a sus {limit} citas de este mes. Las nuevas \
                     reservas quedan en pausa hasta el próximo mes o hasta cambiar al plan de pago."
                ),
                locale,
            ))
        }
        (Kind::HandedOff, _) => {
            let customer = due.details["customer"].as_str().unwrap_or("Un cliente");
            let reason = due.details["reason"].as_str().unwrap_or("");
            plain(notice(
                format!(
                    "{customer} pidió hablar con una persona: «{reason}». El asistente no responderá \
                     en esa conversación hasta que la liberes."
                ),
                locale,
            ))
        }
        (_, None) => Ok(Err(Skip::AppointmentNotLive)),
        (kind, Some(appointment))
            if appointment.starts_at <= now
                && matches!(kind, Kind::Reminder | Kind::Booked | Kind::Rescheduled) =>
        {
            // Checked against the appointment itself, whatever the row says.
            Ok(Err(Skip::Stale))
        }
        (kind, Some(appointment)) => {
            let at = when(appointment.starts_at, &due.tz);
            let service = appointment.service.as_str();
            let staff = appointment.staff_name.as_str();
            let customer = appointment
                .customer_name
                .as_deref()
                .unwrap_or("Cliente sin nombre");
            let to_customer = due.staff_id.is_none();
            let live = appointment.live;
            let greeting = due
                .recipient_name
                .as_deref()
                .map(|n| format!("Hola, {n}. "))
                .unwrap_or_else(|| "Hola. ".into());
            match kind {
                Kind::Reminder if live => Ok(Ok((
                    Message::Template(template(
                        "appointment_reminder",
                        locale,
                        &[business, service, &at, staff],
                    )),
                    None,
                    Purpose::Reminder,
                ))),
                Kind::ReviewRequest => Ok(Ok((
                    text(format!(
                        "{greeting}¡Gracias por tu visita a {business}! ¿Cómo te fue con tu {service}? \
                         Tu opinión nos ayuda mucho."
                    )),
                    Some(template("review_request", locale, &[business])),
                    Purpose::Reminder,
                ))),
                Kind::Booked if live && to_customer => Ok(Ok((
                    text(format!(
                        "{greeting}{business} agendó tu cita: {service} el {at} con {staff}."
                    )),
                    Some(template(
                        "appointment_confirmation",
                        locale,
                        &[business, service, &at, staff],
                    )),
                    Purpose::Notification,
                ))),
                Kind::Booked if live => plain(notice(
                    format!("Nueva cita: {customer}, {service}, el {at} con {staff}."),
                    locale,
                )),
                Kind::Cancelled if to_customer => Ok(Ok((
                    text(format!(
                        "{greeting}Tu cita de {service} del {at} en {business} fue cancelada. \
                         Escríbenos si quieres agendar otra."
                    )),
                    Some(template(
                        "appointment_cancelled",
                        locale,
                        &[business, service, &at],
                    )),
                    Purpose::Notification,
                ))),
                Kind::Cancelled => plain(notice(
                    format!("Cita cancelada: {customer}, {service}, el {at}."),
                    locale,
                )),
                Kind::Rescheduled if live => {
                    let before = due.details["previous_starts_at"]
                        .as_str()
                        .and_then(|t| t.parse::<Timestamp>().ok())
                        .map(|t| when(t, &due.tz))
                        .unwrap_or_default();
                    if to_customer {
                        Ok(Ok((
                            text(format!(
                                "{greeting}Tu cita de {service} en {business} cambió al {at} con {staff}."
                            )),
                            Some(template(
                                "appointment_confirmation",
                                locale,
                                &[business, service, &at, staff],
                            )),
                            Purpose::Notification,
                        )))
                    } else {
                        plain(notice(
                            format!(
                                "Cita movida: {customer}, {service}, ahora el {at} con {staff} (antes el {before})."
                            ),
                            locale,
                        ))
                    }
                }
                _ => Ok(Err(Skip::AppointmentNotLive)),
            }
        }
    }
}

/// The day's agenda for a staff member, or for the whole business to an owner. Staff
/// members without appointments that day are not written to; owners always are.
async fn agenda(tx: &Transaction<'_>, due: &Due) -> Result<Result<Composed, Skip>, Infra> {
    let Some(date) = due.details["date"]
        .as_str()
        .and_then(|d| d.parse::<Date>().ok())
    else {
        return Ok(Err(Skip::NoAppointments));
    };
    let start = date
        .to_zoned(due.tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or_default();
    let end = date
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned(due.tz.clone()).ok())
        .map(|z| z.timestamp())
        .unwrap_or(start);
    let everyone = due.recipient_is_owner;
    let rows = tx
        .query(
            "SELECT a.starts_at, st.name, s.name, c.name
             FROM appointments a
             JOIN service_types st ON st.id = a.service_type_id
             JOIN staff s ON s.id = a.staff_id
             JOIN customers c ON c.id = a.customer_id
             WHERE a.organization_id = $1 AND a.status IN ('pending', 'confirmed')
               AND a.starts_at >= $2 AND a.starts_at < $3
               AND ($4 OR a.staff_id = $5)
             ORDER BY a.starts_at",
            &[&due.organization_id, &start, &end, &everyone, &due.staff_id],
        )
        .await?;
    if rows.is_empty() && !everyone {
        return Ok(Err(Skip::NoAppointments));
    }
    let name = due.recipient_name.as_deref().unwrap_or("");
    // A long day still fits one message.
    const MAX_LINES: usize = 80;
    let mut lines = Vec::with_capacity(rows.len().min(MAX_LINES + 1));
    for row in rows.iter().take(MAX_LINES) {
        let (at, service, staff, customer): (Timestamp, String, String, Option<String>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let customer = customer.unwrap_or_else(|| "cliente".into());
        let mut line = format!("{} {service} — {customer}", clock(at, &due.tz));
        if everyone {
            line.push_str(&format!(" ({staff})"));
        }
        lines.push(line);
    }
    if rows.len() > MAX_LINES {
        lines.push(format!("… y {} más", rows.len() - MAX_LINES));
    }
    let day = spanish::day(date);
    let body = match lines.len() {
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
    };
    let first = rows
        .first()
        .map(|r| format!(" La primera a las {}.", clock(r.get(0), &due.tz)))
        .unwrap_or_default();
    let summary = format!("Agenda de hoy, {day}: {} citas.{first}", rows.len());
    let fallback = template("staff_notice", &due.locale, &[&summary]);
    Ok(Ok((text(body), Some(fallback), Purpose::Reminder)))
}
