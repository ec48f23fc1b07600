//! Ajustes › Equipo › Horario: when one member works, each weekday, split shifts
//! included ("10:00-14:00, 16:00-20:00", or "descansa"). Bookable times are their hours
//! within the business's; scheduling replaces the whole week.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::{
    contracts::scheduling::{DayHours, Interval, Request, StaffHoursRequest},
    spanish::WEEKDAYS,
    typed,
};
use jiff::civil::Time;
use maud::html;
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

/// `GET /ajustes/equipo/{id}/horario`
pub async fn page_for(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    render(&state, &viewer, id, None, &[], StatusCode::OK).await
}

async fn render(
    state: &Shared,
    viewer: &Viewer,
    id: Uuid,
    typed_days: Option<&[String; 7]>,
    problems: &[usize],
    status: StatusCode,
) -> ApiResult<Response> {
    if let Some(refused) = super::owner_only(viewer) {
        return Ok(refused);
    }
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let business: String = tx
        .query_one("SELECT name FROM organizations", &[])
        .await?
        .get(0);
    let name: String = tx
        .query_opt("SELECT name FROM staff WHERE id = $1 AND active", &[&id])
        .await?
        .ok_or(ApiError::NotFound("staff member"))?
        .get(0);
    let hours = tx
        .query(
            "SELECT weekday, starts_at, ends_at FROM staff_working_hours WHERE staff_id = $1 ORDER BY weekday, starts_at",
            &[&id],
        )
        .await?;
    tx.commit().await?;
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
            "descansa".into()
        } else {
            shifts.join(", ")
        }
    });
    let shown = typed_days.unwrap_or(&current);
    let body = html! {
        p { a href="/ajustes/equipo" { "‹ Equipo" } }
        h2 { "Horario de " (name) }
        form.card.wide method="post" action={ "/ajustes/equipo/" (id) "/horario" } novalidate {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="clave" value=(Uuid::new_v4());
            p.hint { "Cada día: «10:00-14:00, 16:00-20:00», o «descansa». Sólo se reserva dentro del horario del negocio." }
            @for (i, day) in WEEKDAYS.iter().enumerate() {
                @let wrong = problems.contains(&i);
                label for={ "dia" (i + 1) } { (day) }
                input type="text" id={ "dia" (i + 1) } name={ "dia" (i + 1) } value=(shown[i]) aria-invalid=[wrong.then_some("true")];
                @if wrong { p.field-error { "Escríbelo como 10:00-14:00, 16:00-20:00, o «descansa»." } }
            }
            button type="submit" { "Guardar horario" }
        }
    };
    Ok(with_status(
        status,
        page("Horario", Some(top_bar(&business, viewer)), body),
    ))
}

/// `POST /ajustes/equipo/{id}/horario`
pub async fn save(
    State(state): State<Shared>,
    Path(id): Path<Uuid>,
    posted: Posted<super::Fields>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    if !viewer.caller.owner {
        return render(&state, &viewer, id, None, &[], StatusCode::FORBIDDEN).await;
    }
    let value = |key: &str| form.value(key);
    let typed_days: [String; 7] = std::array::from_fn(|i| value(&format!("dia{}", i + 1)));
    let mut problems = Vec::new();
    let mut days = Vec::with_capacity(7);
    for (i, text) in typed_days.iter().enumerate() {
        let text = match text.to_lowercase().as_str() {
            "" | "descansa" | "descanso" | "libre" => "cerrado".to_owned(),
            _ => text.clone(),
        };
        match typed::shifts(&text) {
            Some(shifts) => days.push(DayHours {
                weekday: i as u8 + 1,
                intervals: shifts
                    .into_iter()
                    .map(|(opens, closes)| Interval { opens, closes })
                    .collect(),
            }),
            None => problems.push(i),
        }
    }
    if !problems.is_empty() {
        return render(
            &state,
            &viewer,
            id,
            Some(&typed_days),
            &problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    state
        .schedule(&Request::SetStaffHours(StaffHoursRequest {
            actor: viewer.caller.actor(),
            idempotency_key: format!("web:{}", value("clave")),
            staff_id: id,
            days,
        }))
        .await?;
    Ok(see_other("/ajustes/equipo?listo=horario"))
}
