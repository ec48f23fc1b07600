//! Ajustes › Horario y cierres: the opening hours of each weekday, split shifts written as
//! "10:00-14:00, 16:00-20:00" (or "cerrado"), and the days the business closes — one
//! ("12/12") or a range ("del 14 al 20 de abril"), a closure or a holiday — with the
//! coming ones listed to take back. The owner's only; scheduling makes every change.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::{
    contracts::scheduling::{
        AddClosureRequest, BusinessHoursRequest, DayHours, Interval, Outcome, RemoveTimeOffRequest,
        Request, TimeOffKind,
    },
    spanish::capitalized,
    spanish::{self, WEEKDAYS},
    typed,
};
use jiff::{SignedDuration, Timestamp, civil::Time, tz::TimeZone};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Posted, Viewer,
    layout::{page, see_other, with_status},
    top_bar,
};
use crate::{
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

#[derive(Debug, Deserialize)]
pub struct Saved {
    listo: Option<String>,
}

/// `GET /ajustes/horario`
pub async fn page_for(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(saved): Query<Saved>,
) -> ApiResult<Response> {
    let note = saved.listo.as_deref().map(|what| match what {
        "cierre" => "Listo: esos días no se reservan citas.",
        "quitado" => "Listo: se quitó el cierre.",
        _ => "Listo: horario guardado.",
    });
    render(&state, &viewer, None, &[], note, StatusCode::OK).await
}

async fn render(
    state: &Shared,
    viewer: &Viewer,
    typed_days: Option<&[String; 7]>,
    problems: &[(usize, &'static str)],
    note: Option<&str>,
    status: StatusCode,
) -> ApiResult<Response> {
    if let Some(refused) = super::owner_only(viewer) {
        return Ok(refused);
    }
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let org = tx
        .query_one("SELECT name, timezone, locale FROM organizations", &[])
        .await?;
    let hours = tx
        .query(
            "SELECT weekday, opens_at, closes_at FROM business_hours ORDER BY weekday, opens_at",
            &[],
        )
        .await?;
    let closures = tx
        .query(
            "SELECT id, kind, lower(during), upper(during), reason FROM availability_exceptions
             WHERE staff_id IS NULL AND kind IN ('closure', 'holiday') AND upper(during) > $1
             ORDER BY lower(during) LIMIT 20",
            &[&now],
        )
        .await?;
    tx.commit().await?;
    let tz = TimeZone::get(org.get::<_, &str>(1)).unwrap_or(TimeZone::UTC);
    let words = spanish::words(org.get::<_, &str>(2));
    let current: [String; 7] = std::array::from_fn(|i| {
        let shifts: Vec<String> = hours
            .iter()
            .filter(|r| r.get::<_, i16>(0) == i as i16 + 1)
            .map(|r| {
                format!(
                    "{}-{}",
                    r.get::<_, Time>(1).strftime("%H:%M"),
                    r.get::<_, Time>(2).strftime("%H:%M")
                )
            })
            .collect();
        if shifts.is_empty() {
            "cerrado".into()
        } else {
            shifts.join(", ")
        }
    });
    let shown = typed_days.unwrap_or(&current);
    let body = html! {
        (super::settings_tabs("horario"))
        h2 { "Horario y cierres" }
        @if let Some(note) = note { p.note role="status" { (note) } }
        form.card.wide method="post" action="/ajustes/horario" novalidate {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="clave" value=(Uuid::new_v4());
            input type="hidden" name="accion" value="horario";
            p.hint { "Cada día: «10:00-14:00, 16:00-20:00» para horario con comida, o «cerrado»." }
            @for (i, day) in WEEKDAYS.iter().enumerate() {
                @let why = problems.iter().find(|(d, _)| *d == i).map(|(_, w)| *w);
                label for={ "dia" (i + 1) } { (capitalized(day)) }
                input type="text" id={ "dia" (i + 1) } name={ "dia" (i + 1) } value=(shown[i]) aria-invalid=[why.map(|_| "true")];
                @if let Some(why) = why { p.field-error { (why) } }
            }
            button type="submit" { "Guardar horario" }
        }
        section.card.wide {
            h3 { "Cerrar días" }
            @if let Some((_, why)) = problems.iter().find(|(d, _)| *d == 7) { p.error role="alert" { (why) } }
            form method="post" action="/ajustes/horario" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="clave" value=(Uuid::new_v4());
                input type="hidden" name="accion" value="cerrar";
                label for="dias" { "Qué días" }
                input #dias type="text" name="dias" aria-describedby="dias-ayuda" required;
                p.hint #dias-ayuda { "Un día, como «12/12», o varios, como «del 14 al 20 de abril»." }
                label for="tipo" { "Por qué" }
                select #tipo name="tipo" {
                    option value="closure" { "Cierre del negocio" }
                    option value="holiday" { "Día festivo" }
                }
                label for="motivo" { "Nota (opcional)" }
                input #motivo type="text" name="motivo" maxlength="120";
                button type="submit" { "Cerrar esos días" }
            }
            @if closures.is_empty() { p.empty { "No hay cierres próximos." } }
            ul.inbox {
                @for closure in &closures {
                    @let (from, to): (Timestamp, Timestamp) = (closure.get(2), closure.get(3));
                    @let first = from.to_zoned(tz.clone()).date();
                    @let last = (to - SignedDuration::from_secs(1)).to_zoned(tz.clone()).date();
                    li.card.wide {
                        strong {
                            @if first == last { (words.day(first)) } @else { "Del " (words.day(first)) " al " (words.day(last)) }
                        }
                        span.hint { " · " (if closure.get::<_, String>(1) == "holiday" { "festivo" } else { "cierre" })
                            @if let Some(reason) = closure.get::<_, Option<String>>(4) { " · " (reason) } }
                        form method="post" action="/ajustes/horario" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            input type="hidden" name="clave" value=(Uuid::new_v4());
                            input type="hidden" name="accion" value="quitar";
                            input type="hidden" name="cierre" value=(closure.get::<_, Uuid>(0));
                            button.quiet type="submit" { "Quitar este cierre" }
                        }
                    }
                }
            }
        }
    };
    Ok(with_status(
        status,
        page(
            "Horario",
            Some(top_bar(org.get::<_, &str>(0), viewer)),
            body,
        ),
    ))
}

/// `POST /ajustes/horario`: the week's hours, days to close, or a closure taken back.
pub async fn save(
    State(state): State<Shared>,
    posted: Posted<super::Fields>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    if !viewer.caller.owner {
        return render(&state, &viewer, None, &[], None, StatusCode::FORBIDDEN).await;
    }
    let value = |key: &str| form.value(key);
    let actor = viewer.caller.actor();
    let idempotency_key = format!("web:{}", value("clave"));
    let (request, done) = match value("accion").as_str() {
        "horario" => {
            let typed_days: [String; 7] = std::array::from_fn(|i| value(&format!("dia{}", i + 1)));
            let mut problems = Vec::new();
            let mut days = Vec::with_capacity(7);
            for (i, text) in typed_days.iter().enumerate() {
                let text = if text.is_empty() {
                    "cerrado"
                } else {
                    text.as_str()
                };
                match typed::shifts(text) {
                    Some(shifts) => days.push(DayHours {
                        weekday: i as u8 + 1,
                        intervals: shifts
                            .into_iter()
                            .map(|(opens, closes)| Interval { opens, closes })
                            .collect(),
                    }),
                    None => {
                        problems.push((i, "Escríbelo como 10:00-14:00, 16:00-20:00, o «cerrado»."))
                    }
                }
            }
            if !problems.is_empty() {
                return render(
                    &state,
                    &viewer,
                    Some(&typed_days),
                    &problems,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            (
                Request::SetBusinessHours(BusinessHoursRequest {
                    actor,
                    idempotency_key,
                    days,
                }),
                "horario",
            )
        }
        "cerrar" => {
            let zone: String = {
                let mut client = state.db().await?;
                let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
                let zone = tx
                    .query_one("SELECT timezone FROM organizations", &[])
                    .await?
                    .get(0);
                tx.commit().await?;
                zone
            };
            let tz = TimeZone::get(&zone).unwrap_or(TimeZone::UTC);
            let today = state.clock.now().to_zoned(tz).date();
            let Some((from, to)) = typed::days(&value("dias"), today) else {
                let why = [(
                    7,
                    "Esas fechas no se entienden; se escriben así: «12/12» o «del 14 al 20 de abril».",
                )];
                return render(
                    &state,
                    &viewer,
                    None,
                    &why,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            };
            let kind = if value("tipo") == "holiday" {
                TimeOffKind::Holiday
            } else {
                TimeOffKind::Closure
            };
            let reason = Some(value("motivo")).filter(|r| !r.is_empty());
            (
                Request::AddClosure(AddClosureRequest {
                    actor,
                    idempotency_key,
                    staff_id: None,
                    kind,
                    from,
                    to,
                    reason,
                }),
                "cierre",
            )
        }
        "quitar" => {
            let time_off_id = value("cierre")
                .parse()
                .map_err(|_| ApiError::BadRequest("not a closure".into()))?;
            (
                Request::RemoveTimeOff(RemoveTimeOffRequest {
                    actor,
                    idempotency_key,
                    time_off_id,
                }),
                "quitado",
            )
        }
        _ => return Err(ApiError::BadRequest("unknown action".into())),
    };
    match state.schedule(&request).await {
        Ok(Outcome::Hours { .. } | Outcome::TimeOff { .. } | Outcome::Removed { .. }) => {
            Ok(see_other(&format!("/ajustes/horario?listo={done}")))
        }
        Ok(other) => Err(crate::routes::unexpected(request.name(), &other)),
        Err(ApiError::Scheduling(error)) => {
            tracing::info!(?error, "hours or a closure from the dashboard were refused");
            let why = [(
                7,
                "No se pudo: las fechas no pueden ser días que ya pasaron.",
            )];
            render(&state, &viewer, None, &why, None, StatusCode::CONFLICT).await
        }
        Err(error) => Err(error),
    }
}
