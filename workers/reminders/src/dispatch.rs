//! Due notifications become send commands on `outbound.send`. A batch of due rows is
//! locked (`FOR UPDATE SKIP LOCKED`, so replicas take disjoint batches), each is composed
//! from fresh data, all are published with confirms, and the rows are marked in the same
//! transaction. A crash between publishing and marking leaves the rows pending: they are
//! published again later with the same command ids, which outbound refuses to send twice.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    amqp::{PublishError, Publisher, topology::OUTBOUND_SEND},
    contracts::outbound::{Command, Message, Outgoing, Purpose, Template},
};
use deadpool_postgres::{Pool, Transaction};
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use lapin::BasicProperties;
use serde_json::Value;
use tokio::task::JoinSet;
use uuid::Uuid;

use cita_shared::spanish::{self, clock, notice, template, text, when};

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("publishing a send command: {0}")]
    Publish(#[from] PublishError),
}

/// What one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    pub published: usize,
    pub skipped: usize,
}

impl Dispatched {
    pub fn total(&self) -> usize {
        self.published + self.skipped
    }
}

/// A due row with what composing its message needs.
struct Due {
    id: Uuid,
    organization_id: Uuid,
    kind: String,
    command_id: Uuid,
    details: Value,
    stale_at: Timestamp,
    staff_id: Option<Uuid>,
    business: String,
    tz: TimeZone,
    locale: String,
    recipient: Option<String>,
    recipient_name: Option<String>,
    recipient_is_owner: bool,
    conversation_id: Option<Uuid>,
    appointment: Option<AppointmentView>,
}

struct AppointmentView {
    starts_at: Timestamp,
    live: bool,
    service: String,
    staff_name: String,
    customer_name: Option<String>,
}

/// Why a due row is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Stale,
    NoRecipient,
    AppointmentNotLive,
    NoAppointments,
}

impl Skip {
    fn as_str(self) -> &'static str {
        match self {
            Skip::Stale => "stale",
            Skip::NoRecipient => "no_recipient",
            Skip::AppointmentNotLive => "appointment_not_live",
            Skip::NoAppointments => "no_appointments",
        }
    }
}

/// Publishes up to `batch` notifications due at `now` to `exchange`'s `outbound.send`.
pub async fn dispatch_batch(
    pool: &Pool,
    publisher: &Arc<Publisher>,
    commands_exchange: &str,
    now: Timestamp,
    batch: i64,
) -> Result<Dispatched, DispatchError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let statement = tx
        .prepare_cached(
            "SELECT n.id, n.organization_id, n.kind, n.command_id, n.details, n.stale_at, n.staff_id,
                    o.name, o.timezone, o.locale,
                    CASE n.audience WHEN 'staff' THEN s.phone ELSE COALESCE(cu.wa_id, cu.phone) END,
                    CASE n.audience WHEN 'staff' THEN s.name ELSE cu.name END,
                    COALESCE(s.role = 'owner', false),
                    a.id IS NOT NULL, a.starts_at, a.status IN ('pending', 'confirmed'),
                    st.name, ast.name, cu.name
             FROM notifications n
             JOIN organizations o ON o.id = n.organization_id
             LEFT JOIN staff s ON s.id = n.staff_id
             LEFT JOIN appointments a ON a.id = n.appointment_id
             LEFT JOIN customers cu ON cu.id = COALESCE(n.customer_id, a.customer_id)
             LEFT JOIN service_types st ON st.id = a.service_type_id
             LEFT JOIN staff ast ON ast.id = a.staff_id
             WHERE n.status = 'pending' AND n.due_at <= $1
             ORDER BY n.due_at
             LIMIT $2
             FOR UPDATE OF n SKIP LOCKED",
        )
        .await?;
    let rows = tx.query(&statement, &[&now, &batch]).await?;
    if rows.is_empty() {
        return Ok(Dispatched::default());
    }
    let mut due = Vec::with_capacity(rows.len());
    for row in &rows {
        let timezone: String = row.get(8);
        let has_appointment: bool = row.get(13);
        due.push(Due {
            id: row.get(0),
            organization_id: row.get(1),
            kind: row.get(2),
            command_id: row.get(3),
            details: row.get(4),
            stale_at: row.get(5),
            staff_id: row.get(6),
            business: row.get(7),
            tz: TimeZone::get(&timezone).unwrap_or(TimeZone::UTC),
            locale: row.get(9),
            recipient: row.get(10),
            recipient_name: row.get(11),
            recipient_is_owner: row.get(12),
            conversation_id: None,
            appointment: has_appointment.then(|| AppointmentView {
                starts_at: row.get(14),
                live: row.get(15),
                service: row.get(16),
                staff_name: row.get(17),
                customer_name: row.get(18),
            }),
        });
    }
    attach_conversations(&tx, &mut due).await?;

    let mut published = Vec::new();
    let mut skipped: Vec<(Uuid, &'static str)> = Vec::new();
    let mut sends = JoinSet::new();
    for row in &due {
        let composed = match compose(&tx, row, now).await? {
            Ok(composed) => composed,
            Err(skip) => {
                skipped.push((row.id, skip.as_str()));
                continue;
            }
        };
        let (message, fallback, purpose) = composed;
        let command = Command::SendV1(Outgoing {
            command_id: row.command_id,
            organization_id: row.organization_id,
            to: row.recipient.clone().unwrap_or_default(),
            conversation_id: row.conversation_id,
            purpose,
            reply_to: None,
            message,
            fallback,
        });
        let body = serde_json::to_vec(&command).expect("a command serializes to JSON");
        let (publisher, exchange, id) = (publisher.clone(), commands_exchange.to_string(), row.id);
        sends.spawn(async move {
            let properties = BasicProperties::default()
                .with_content_type("application/json".into())
                .with_message_id(id.to_string().into());
            publisher
                .publish(&exchange, OUTBOUND_SEND, &body, properties)
                .await
                .map(|()| id)
        });
    }
    while let Some(joined) = sends.join_next().await {
        // A failed publish aborts the whole batch: nothing is marked, everything is
        // retried, and what did go out is deduplicated by outbound.
        published.push(joined.expect("a publish task does not panic")?);
    }
    let (skipped_ids, reasons): (Vec<Uuid>, Vec<&str>) = skipped.iter().copied().unzip();
    tx.execute(
        "UPDATE notifications SET status = 'sent', sent_at = $2 WHERE id = ANY($1)",
        &[&published, &now],
    )
    .await?;
    tx.execute(
        "UPDATE notifications n SET status = 'skipped', skipped_reason = s.reason
         FROM unnest($1::uuid[], $2::text[]) AS s(id, reason) WHERE n.id = s.id",
        &[&skipped_ids, &reasons],
    )
    .await?;
    tx.commit().await?;
    Ok(Dispatched {
        published: published.len(),
        skipped: skipped.len(),
    })
}

/// The conversation with each recipient, when there is one (for the message's record).
async fn attach_conversations(tx: &Transaction<'_>, due: &mut [Due]) -> Result<(), DispatchError> {
    let (orgs, recipients): (Vec<Uuid>, Vec<String>) = due
        .iter()
        .filter_map(|d| d.recipient.clone().map(|r| (d.organization_id, r)))
        .unzip();
    if recipients.is_empty() {
        return Ok(());
    }
    let rows = tx
        .query(
            "SELECT c.organization_id, c.wa_id, c.id FROM conversations c
             JOIN unnest($1::uuid[], $2::text[]) AS r(org, wa_id)
               ON c.organization_id = r.org AND c.wa_id = r.wa_id",
            &[&orgs, &recipients],
        )
        .await?;
    for row in rows {
        let (org, wa_id, id): (Uuid, String, Uuid) = (row.get(0), row.get(1), row.get(2));
        for d in due
            .iter_mut()
            .filter(|d| d.organization_id == org && d.recipient.as_deref() == Some(wa_id.as_str()))
        {
            d.conversation_id = Some(id);
        }
    }
    Ok(())
}

type Composed = (Message, Option<Template>, Purpose);

/// A notification to staff, composed.
fn plain(message: (Message, Option<Template>)) -> Result<Result<Composed, Skip>, DispatchError> {
    Ok(Ok((message.0, message.1, Purpose::Notification)))
}

/// The message for one due row, or why it is not sent.
async fn compose(
    tx: &Transaction<'_>,
    due: &Due,
    now: Timestamp,
) -> Result<Result<Composed, Skip>, DispatchError> {
    if now >= due.stale_at {
        return Ok(Err(Skip::Stale));
    }
    if due.recipient.is_none() {
        return Ok(Err(Skip::NoRecipient));
    }
    let locale = due.locale.as_str();
    let business = due.business.as_str();
    if due.kind == "agenda" {
        return agenda(tx, due).await;
    }
    match (due.kind.as_str(), &due.appointment) {
        ("quota_exceeded", _) => {
            let limit = due.details["limit"].as_u64().unwrap_or_default();
            plain(notice(
                format!(
                    "{business}: el plan gratuito llegó a sus {limit} citas de este mes. Las nuevas \
                     reservas quedan en pausa hasta el próximo mes o hasta cambiar al plan de pago."
                ),
                locale,
            ))
        }
        ("handed_off", _) => {
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
                && matches!(kind, "reminder" | "booked" | "rescheduled") =>
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
                "reminder" if live => Ok(Ok((
                    Message::Template(template(
                        "appointment_reminder",
                        locale,
                        &[business, service, &at, staff],
                    )),
                    None,
                    Purpose::Reminder,
                ))),
                "review_request" => Ok(Ok((
                    text(format!(
                        "{greeting}¡Gracias por tu visita a {business}! ¿Cómo te fue con tu {service}? \
                         Tu opinión nos ayuda mucho."
                    )),
                    Some(template("review_request", locale, &[business])),
                    Purpose::Reminder,
                ))),
                "booked" if live && to_customer => Ok(Ok((
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
                "booked" if live => plain(notice(
                    format!("Nueva cita: {customer}, {service}, el {at} con {staff}."),
                    locale,
                )),
                "cancelled" if to_customer => Ok(Ok((
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
                "cancelled" => plain(notice(
                    format!("Cita cancelada: {customer}, {service}, el {at}."),
                    locale,
                )),
                "rescheduled" if live => {
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
async fn agenda(tx: &Transaction<'_>, due: &Due) -> Result<Result<Composed, Skip>, DispatchError> {
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

/// Dispatches until `shutdown`, backing off after errors.
pub async fn run(
    pool: Pool,
    publisher: Arc<Publisher>,
    commands_exchange: String,
    clock: crate::Clock,
    metrics: crate::metrics::Metrics,
    shutdown: tokio_util::sync::CancellationToken,
) {
    const BATCH: i64 = 500;
    while !shutdown.is_cancelled() {
        let pause =
            match dispatch_batch(&pool, &publisher, &commands_exchange, clock(), BATCH).await {
                Ok(done) if done.total() as i64 == BATCH => {
                    metrics.dispatched(done);
                    Duration::ZERO
                }
                Ok(done) => {
                    metrics.dispatched(done);
                    Duration::from_millis(250)
                }
                Err(error) => {
                    tracing::warn!(%error, "dispatching notifications failed; retrying");
                    Duration::from_secs(1)
                }
            };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => {}
        }
    }
}
