//! What a due notification says: composed from fresh data at the moment it is sent (an
//! appointment moved or cancelled meanwhile is not announced in its old form), with the
//! template that carries it when the recipient's 24-hour window is closed.

use cita_shared::{
    contracts::outbound::{Buttons, Choice, Message, Purpose, Template},
    error::Infra,
    spanish::{self, notice, template, text},
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
    /// Where a review request sends the customer, if the business has set it.
    pub(crate) review_link: Option<String>,
    pub(crate) tz: TimeZone,
    pub(crate) locale: String,
    pub(crate) recipient: Option<String>,
    pub(crate) recipient_name: Option<String>,
    pub(crate) recipient_is_owner: bool,
    pub(crate) conversation_id: Option<Uuid>,
    /// The trace of the event that wrote the row.
    pub(crate) traceparent: Option<String>,
    pub(crate) appointment: Option<AppointmentView>,
}

pub(crate) struct AppointmentView {
    pub(crate) id: Uuid,
    pub(crate) starts_at: Timestamp,
    pub(crate) live: bool,
    /// A hold, still waiting for approval.
    pub(crate) pending: bool,
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
    let words = spanish::words(locale);
    let business = due.business.as_str();
    if due.kind == Kind::Agenda {
        return agenda(tx, due).await;
    }
    match (due.kind, &due.appointment) {
        (Kind::QuotaExceeded, _) => {
            let limit = due.details["limit"].as_u64().unwrap_or_default();
            plain(notice(words.quota_reached(business, limit), locale))
        }
        (Kind::HandedOff, _) => {
            let customer = due.details["customer"]
                .as_str()
                .unwrap_or(words.a_customer());
            let reason = due.details["reason"].as_str().unwrap_or("");
            plain(notice(words.handoff_notice(customer, reason), locale))
        }
        (Kind::StaffWelcome, _) => {
            let name = due.recipient_name.as_deref().unwrap_or_default();
            plain(notice(words.staff_welcome(name, business), locale))
        }
        (_, None) => Ok(Err(Skip::AppointmentNotLive)),
        (kind, Some(appointment))
            if appointment.starts_at <= now
                && matches!(
                    kind,
                    Kind::Reminder | Kind::Booked | Kind::Rescheduled | Kind::HoldRequest
                ) =>
        {
            // Checked against the appointment itself, whatever the row says.
            Ok(Err(Skip::Stale))
        }
        (kind, Some(appointment)) => {
            let at = words.when(appointment.starts_at, &due.tz);
            let service = appointment.service.as_str();
            let staff = appointment.staff_name.as_str();
            let customer = appointment
                .customer_name
                .as_deref()
                .unwrap_or(words.unnamed_customer());
            let to_customer = due.staff_id.is_none();
            let live = appointment.live;
            let greeting = words.hello(due.recipient_name.as_deref());
            match kind {
                Kind::Reminder if live && !appointment.pending => Ok(Ok((
                    Message::Template(template(
                        "appointment_reminder",
                        locale,
                        &[business, service, &at, staff],
                    )),
                    None,
                    Purpose::Reminder,
                ))),
                Kind::ReviewRequest => Ok(Ok((
                    text(words.review_request(
                        &greeting,
                        business,
                        service,
                        due.review_link.as_deref(),
                    )),
                    Some(template("review_request", locale, &[business])),
                    Purpose::Reminder,
                ))),
                Kind::Booked if live && to_customer => Ok(Ok((
                    text(words.booked_for_you(&greeting, business, service, &at, staff)),
                    Some(template(
                        "appointment_confirmation",
                        locale,
                        &[business, service, &at, staff],
                    )),
                    Purpose::Notification,
                ))),
                Kind::Booked if live => plain(notice(
                    words.booked_notice(customer, service, &at, staff),
                    locale,
                )),
                Kind::Cancelled if to_customer => Ok(Ok((
                    text(words.cancelled_for_you(&greeting, business, service, &at)),
                    Some(template(
                        "appointment_cancelled",
                        locale,
                        &[business, service, &at],
                    )),
                    Purpose::Notification,
                ))),
                Kind::Cancelled => plain(notice(
                    words.cancelled_notice(customer, service, &at),
                    locale,
                )),
                Kind::Rescheduled if live => {
                    let before = due.details["previous_starts_at"]
                        .as_str()
                        .and_then(|t| t.parse::<Timestamp>().ok())
                        .map(|t| words.when(t, &due.tz))
                        .unwrap_or_default();
                    if to_customer {
                        Ok(Ok((
                            text(words.moved_for_you(&greeting, business, service, &at, staff)),
                            Some(template(
                                "appointment_confirmation",
                                locale,
                                &[business, service, &at, staff],
                            )),
                            Purpose::Notification,
                        )))
                    } else {
                        plain(notice(
                            words.moved_notice(customer, service, &at, staff, &before),
                            locale,
                        ))
                    }
                }
                Kind::HoldRequest if appointment.pending => {
                    let until = due.details["until"]
                        .as_str()
                        .and_then(|t| t.parse::<Timestamp>().ok())
                        .map(|t| words.when(t, &due.tz))
                        .unwrap_or_default();
                    let body = words.hold_request(customer, service, &at, &until);
                    let (_, fallback) = notice(body.clone(), locale);
                    let choice = |approve: bool, title: &str| Choice {
                        id: format!(
                            "hold:{}:{}",
                            if approve { "ok" } else { "no" },
                            appointment.id
                        ),
                        title: title.into(),
                    };
                    let buttons = Buttons {
                        header: None,
                        body,
                        footer: None,
                        buttons: vec![choice(true, words.approve()), choice(false, words.reject())],
                    };
                    plain((Message::Buttons(buttons), fallback))
                }
                Kind::HoldRejected | Kind::HoldExpired if to_customer => {
                    let body = if kind == Kind::HoldRejected {
                        let reason = due.details["reason"].as_str();
                        words.hold_rejected_for_you(&greeting, business, service, &at, reason)
                    } else if due.details["unpaid_deposit"] == true {
                        words.deposit_lapsed_for_you(&greeting, business, service, &at)
                    } else {
                        words.hold_expired_for_you(&greeting, business, service, &at)
                    };
                    Ok(Ok((
                        text(body),
                        Some(template(
                            "appointment_cancelled",
                            locale,
                            &[business, service, &at],
                        )),
                        Purpose::Notification,
                    )))
                }
                Kind::HoldExpired => plain(notice(
                    words.hold_expired_notice(customer, service, &at),
                    locale,
                )),
                Kind::DepositRequest if appointment.pending => {
                    let until = due.details["until"]
                        .as_str()
                        .and_then(|t| t.parse::<Timestamp>().ok())
                        .map(|t| words.when(t, &due.tz))
                        .unwrap_or_default();
                    let link = due.details["link"].as_str().unwrap_or_default();
                    let body = words.deposit_request_for_you(
                        &greeting,
                        business,
                        service,
                        &at,
                        &amount(words, &due.details),
                        &until,
                        link,
                    );
                    // The customer is booking in the chat: the window is open. There is
                    // no template to carry a payment link.
                    Ok(Ok((text(body), None, Purpose::Notification)))
                }
                Kind::DepositIssue => {
                    let amount = amount(words, &due.details);
                    let issue = &due.details["issue"];
                    match (issue["kind"].as_str(), to_customer) {
                        (Some("refund_due"), true) => Ok(Ok((
                            text(words.deposit_refund_for_you(
                                &greeting, business, service, &at, &amount,
                            )),
                            Some(template(
                                "appointment_cancelled",
                                locale,
                                &[business, service, &at],
                            )),
                            Purpose::Notification,
                        ))),
                        (Some("refund_due"), false) => plain(notice(
                            words.deposit_refund_notice(customer, service, &at, &amount),
                            locale,
                        )),
                        _ => {
                            let paid = words.price(
                                issue["paid_minor"].as_i64().unwrap_or_default(),
                                issue["paid_currency"].as_str().unwrap_or_default(),
                            );
                            plain(notice(
                                words.deposit_mismatch_notice(
                                    customer, service, &at, &amount, &paid,
                                ),
                                locale,
                            ))
                        }
                    }
                }
                _ => Ok(Err(Skip::AppointmentNotLive)),
            }
        }
    }
}

/// The deposit in a notice's details, as people read money.
fn amount(words: &dyn spanish::Words, details: &serde_json::Value) -> String {
    words.price(
        details["amount_minor"].as_i64().unwrap_or_default(),
        details["currency"].as_str().unwrap_or_default(),
    )
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
    let words = spanish::words(&due.locale);
    let name = due.recipient_name.as_deref().unwrap_or("");
    // A long day still fits one message.
    const MAX_LINES: usize = 80;
    let mut lines = Vec::with_capacity(rows.len().min(MAX_LINES + 1));
    for row in rows.iter().take(MAX_LINES) {
        let (at, service, staff, customer): (Timestamp, String, String, Option<String>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let customer = customer.unwrap_or_else(|| words.unnamed_customer().into());
        let mut line = format!("{} {service} — {customer}", words.clock(at, &due.tz));
        if everyone {
            line.push_str(&format!(" ({staff})"));
        }
        lines.push(line);
    }
    if rows.len() > MAX_LINES {
        lines.push(words.and_more(rows.len() - MAX_LINES));
    }
    let day = words.day(date);
    let body = words.morning_agenda(name, &day, &lines);
    let first = rows.first().map(|r| words.clock(r.get(0), &due.tz));
    let summary = words.agenda_summary(&day, rows.len(), first.as_deref());
    let fallback = template("staff_notice", &due.locale, &[&summary]);
    Ok(Ok((text(body), Some(fallback), Purpose::Reminder)))
}
