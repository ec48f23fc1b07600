//! Sesiones: where this person is logged in (browser, address, since and last used),
//! each closable; closing this one is Salir.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::spanish;
use jiff::tz::TimeZone;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Posted, Viewer,
    layout::{page, see_other, with_status},
    top_bar,
};
use crate::{auth::sessions, problem::ApiResult, state::Shared, tenant};

/// `GET /sesiones`
pub async fn list(State(state): State<Shared>, viewer: Viewer) -> ApiResult<Response> {
    let caller = &viewer.caller;
    let current = caller.session_id.unwrap_or_default();
    let open = sessions::list(&state, caller.organization_id, caller.staff_id, current).await?;
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let org = tx
        .query_one("SELECT name, timezone, locale FROM organizations", &[])
        .await?;
    tx.commit().await?;
    let business: String = org.get(0);
    let tz = TimeZone::get(org.get::<_, &str>(1)).unwrap_or(TimeZone::UTC);
    let words = spanish::words(org.get::<_, &str>(2));
    let body = html! {
        h2 { "Sesiones abiertas" }
        p.hint { "Cada lugar donde se entró con este número; las que no se reconozcan se pueden cerrar." }
        ul.sessions {
            @for session in &open {
                li.card.wide {
                    p { strong { (browser_of(session.user_agent.as_deref())) } @if session.current { " · esta sesión" } }
                    p.hint {
                        "Desde " (words.when(session.created_at, &tz))
                        " · última vez " (words.when(session.last_used_at, &tz))
                        @if let Some(ip) = &session.ip { " · " (ip) }
                    }
                    @if !session.current {
                        form method="post" action={ "/sesiones/" (session.id) } {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button.quiet type="submit" { "Cerrar esta sesión" }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Sesiones", Some(top_bar(&business, &viewer)), body))
}

#[derive(Debug, Deserialize)]
pub struct Close {}

/// `POST /sesiones/{id}`: closes one of this person's other sessions.
pub async fn close(
    State(state): State<Shared>,
    Path(id): Path<Uuid>,
    posted: Posted<Close>,
) -> ApiResult<Response> {
    let caller = &posted.viewer.caller;
    let closed = sessions::revoke(
        &state,
        caller.organization_id,
        caller.staff_id,
        id,
        "revoked",
    )
    .await?;
    if !closed {
        return Ok(with_status(
            StatusCode::NOT_FOUND,
            page(
                "Sesiones",
                None,
                html! { p.error role="alert" { "Esa sesión ya no está abierta." } },
            ),
        ));
    }
    Ok(see_other("/sesiones"))
}

/// A browser's name from its user agent, as a person recognizes it.
fn browser_of(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent else {
        return "Navegador desconocido".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(mark, _)| agent.contains(mark))
    .map_or("Navegador", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "Mac"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(mark, _)| agent.contains(mark))
    .map(|(_, name)| name);
    match system {
        Some(system) => format!("{browser} en {system}"),
        None => browser.to_owned(),
    }
}
