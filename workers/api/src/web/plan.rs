//! Plan: this month's bookings against the free plan's allowance, and what happens when
//! it runs out. Counted as scheduling counts them: appointments made since the first of
//! the month in the business's zone, whatever became of them.

use axum::{extract::State, response::Response};
use cita_shared::{contracts::scheduling::FREE_PLAN_MONTHLY_BOOKINGS, spanish::MONTHS};
use jiff::tz::TimeZone;
use maud::html;

use super::{Viewer, layout::page, top_bar};
use crate::{problem::ApiResult, state::Shared, tenant};

/// `GET /plan`
pub async fn page_for(State(state): State<Shared>, viewer: Viewer) -> ApiResult<Response> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let org = tx
        .query_one("SELECT name, timezone, plan FROM organizations", &[])
        .await?;
    let tz = TimeZone::get(org.get::<_, &str>(1)).unwrap_or(TimeZone::UTC);
    let now = state.clock.now().to_zoned(tz);
    let month = now
        .first_of_month()
        .and_then(|z| z.start_of_day())
        .map(|z| z.timestamp())
        .unwrap_or(now.timestamp());
    let made: i64 = tx
        .query_one(
            "SELECT count(*) FROM appointments WHERE created_at >= $1",
            &[&month],
        )
        .await?
        .get(0);
    tx.commit().await?;
    let business: String = org.get(0);
    let free = org.get::<_, &str>(2) == "free";
    let limit = i64::from(FREE_PLAN_MONTHLY_BOOKINGS);
    let left = (limit - made).max(0);
    let name = MONTHS[usize::from(now.month() as u8) - 1];
    let body = html! {
        h2 { "El plan" }
        @if free {
            section.card.wide {
                p { strong { "Plan gratuito" } ": hasta " (limit) " reservas al mes." }
                label for="uso" { "Reservas de " (name) ": " (made) " de " (limit) }
                progress #uso max=(limit) value=(made.min(limit)) { (made) " de " (limit) }
                @if left > 0 {
                    p.hint { "Quedan " (left) " este mes." }
                } @else {
                    p.error role="alert" { "Llegaste a las " (limit) " reservas de " (name) "." }
                }
                p.hint {
                    "Al llegar al límite, el asistente ya no reserva: ofrece pasar con una persona y avisa al dueño una vez por mes. "
                    "Las citas ya hechas siguen en pie, y el conteo vuelve a cero el día primero."
                }
            }
        } @else {
            section.card.wide {
                p { strong { "Plan de pago" } ": reservas sin límite." }
                p.hint { "Este mes van " (made) " reservas." }
            }
        }
    };
    Ok(page("Plan", Some(top_bar(&business, &viewer)), body))
}
