//! What customers' holds put on top of the day: the bookings waiting for the viewer's
//! approval (soonest deadline first, each approved in one tap or opened to be rejected
//! with a reason), and those that ran out unanswered in the last day, whose times were
//! freed. The viewer sees everyone's with `manage_appointments` (or as the owner), their
//! own otherwise — the holds they may decide.

use cita_shared::{contracts::scheduling::permissions, spanish::Words};
use deadpool_postgres::Transaction;
use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use maud::{Markup, html};
use uuid::Uuid;

use super::Viewer;
use crate::{auth::Caller, problem::ApiResult};

/// How far back a hold that ran out is still shown.
const EXPIRED_SHOWN: SignedDuration = SignedDuration::from_hours(24);

pub struct Requests {
    waiting: Vec<Request>,
    expired: Vec<Request>,
}

struct Request {
    id: Uuid,
    starts_at: Timestamp,
    expires_at: Timestamp,
    service: String,
    customer: String,
}

pub async fn read(tx: &Transaction<'_>, caller: &Caller, now: Timestamp) -> ApiResult<Requests> {
    let rows = tx
        .query(
            "SELECT a.id, a.starts_at, a.hold_expires_at, s.name,
                    COALESCE(c.name, c.phone, c.wa_id, ''), a.status = 'pending'
             FROM appointments a
             JOIN service_types s ON s.id = a.service_type_id
             JOIN customers c ON c.id = a.customer_id
             WHERE ((a.status = 'pending' AND a.hold_expires_at > $1)
                    OR (a.hold_outcome = 'expired' AND a.hold_expires_at > $4))
               AND ($2 OR a.staff_id = $3)
             ORDER BY a.hold_expires_at LIMIT 20",
            &[
                &now,
                &caller.may(permissions::MANAGE_APPOINTMENTS),
                &caller.staff_id,
                &(now - EXPIRED_SHOWN),
            ],
        )
        .await?;
    let (mut waiting, mut expired) = (Vec::new(), Vec::new());
    for row in rows {
        let request = Request {
            id: row.get(0),
            starts_at: row.get(1),
            expires_at: row.get(2),
            service: row.get(3),
            customer: row.get(4),
        };
        if row.get::<_, bool>(5) {
            waiting.push(request);
        } else {
            expired.push(request);
        }
    }
    // The latest to run out first.
    expired.reverse();
    Ok(Requests { waiting, expired })
}

pub fn queue(requests: &Requests, words: &dyn Words, tz: &TimeZone, viewer: &Viewer) -> Markup {
    let what = |r: &Request| {
        html! {
            strong { (if r.customer.is_empty() { "Cliente" } else { &r.customer }) }
            " · " (r.service) " · " (words.when(r.starts_at, tz))
        }
    };
    html! {
        @if !requests.waiting.is_empty() {
            section.card.wide.holds aria-labelledby="por-aprobar" {
                h2 #por-aprobar { "Por aprobar (" (requests.waiting.len()) ")" }
                ul.queue {
                    @for hold in &requests.waiting {
                        li data-hold=(hold.id) {
                            a href={ "/citas/" (hold.id) } { (what(hold)) }
                            small { "Vence el " (words.when(hold.expires_at, tz)) }
                            form method="post" action={ "/citas/" (hold.id) } {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                input type="hidden" name="clave" value=(Uuid::new_v4());
                                input type="hidden" name="accion" value="approve";
                                button type="submit" { "Aprobar" }
                            }
                            a.button.quiet href={ "/citas/" (hold.id) } { "Rechazar…" }
                        }
                    }
                }
            }
        }
        @if !requests.expired.is_empty() {
            section.expired aria-labelledby="vencidas" {
                h3 #vencidas { "Vencieron sin respuesta; sus horarios quedaron libres y se avisó a los clientes" }
                ul {
                    @for hold in &requests.expired {
                        li data-expired=(hold.id) { a href={ "/citas/" (hold.id) } { (what(hold)) } }
                    }
                }
            }
        }
    }
}
