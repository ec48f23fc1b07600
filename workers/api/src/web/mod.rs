//! The owner's and staff's web pages, served by `cita-api` on its own origin: HTML from
//! the server (templates compiled into the binary), forms that work without JavaScript,
//! one hashed stylesheet, and a strict Content-Security-Policy. The pages read as the API
//! does (row-level security, the same permissions) and will write only through the same
//! scheduling requests.

mod appointment;
mod assets;
mod business;
mod conversations;
mod customers;
mod day;
mod figures;
mod general;
mod hours;
mod layout;
mod login;
mod plan;
mod requests;
mod services;
mod sessions;
mod slot;
mod staff_hours;
mod team;
mod week;

use axum::{
    Router,
    extract::{FromRequest, FromRequestParts, Request},
    http::{StatusCode, request::Parts},
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use maud::{Markup, html};
use subtle::ConstantTimeEq;

use cita_shared::contracts::scheduling::permissions::VIEW_BUSINESS_SCHEDULE;

use crate::{
    auth::{Caller, cookies},
    problem::ApiError,
    state::Shared,
};

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/", get(|| async { layout::see_other("/hoy") }))
        .route("/entrar", get(login::form).post(login::ask_code))
        .route("/entrar/codigo", post(login::enter))
        .route("/entrar/renovar", get(login::renew))
        .route("/salir", post(login::leave))
        .route("/hoy", get(day::page_for))
        .route("/hoy/nueva", get(slot::form).post(slot::made))
        .route("/semana", get(week::page_for))
        .route(
            "/citas/{id}",
            get(appointment::show).post(appointment::change),
        )
        .route(
            "/citas/{id}/mover",
            get(appointment::times).post(appointment::moved),
        )
        .route("/clientes", get(customers::search))
        .route(
            "/clientes/{id}",
            get(customers::customer).post(customers::save_notes),
        )
        .route("/conversaciones", get(conversations::inbox))
        .route(
            "/conversaciones/{id}",
            get(conversations::chat).post(conversations::act),
        )
        .route("/cifras", get(figures::page_for))
        .route("/cifras.csv", get(figures::csv))
        .route("/plan", get(plan::page_for))
        .route(
            "/ajustes",
            get(|| async { layout::see_other("/ajustes/servicios") }),
        )
        .route("/ajustes/servicios", get(services::list))
        .route("/ajustes/horario", get(hours::page_for).post(hours::save))
        .route("/ajustes/equipo", get(team::page_for).post(team::save))
        .route(
            "/ajustes/equipo/{id}/horario",
            get(staff_hours::page_for).post(staff_hours::save),
        )
        .route(
            "/ajustes/negocio",
            get(business::page_for).post(business::save),
        )
        .route(
            "/ajustes/general",
            get(general::page_for).post(general::save),
        )
        .route(
            "/ajustes/servicios/{id}",
            get(services::edit).post(services::save),
        )
        .route("/sesiones", get(sessions::list))
        .route("/sesiones/{id}", post(sessions::close))
        .route("/assets/{name}", get(assets::serve))
        .layer(middleware::from_fn(layout::guard))
}

/// Someone logged in to the pages: their access cookie names an open session. Without
/// one, the page answers with a redirect to Entrar.
pub struct Viewer {
    pub caller: Caller,
    /// For the forms' hidden CSRF field.
    pub csrf: String,
}

impl FromRequestParts<Shared> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        // Pages' forms carry the CSRF token as a field, not a header: the caller is found
        // as for a read, and [`Posted`] checks the field before any handler runs.
        let method = std::mem::replace(&mut parts.method, axum::http::Method::GET);
        let found = Caller::from_request_parts(parts, state).await;
        parts.method = method;
        match found {
            Ok(caller) if caller.session_id.is_some() => {
                let csrf = cookies::csrf_token(state, caller.session_id.unwrap_or_default());
                Ok(Viewer { caller, csrf })
            }
            // An access cookie that ran out (or none): renewed by the pages' refresh
            // cookie if there is one, else Entrar.
            Ok(_) | Err(ApiError::Unauthorized) => {
                let here = parts.uri.path_and_query().map_or("/hoy", |p| p.as_str());
                let back: String = url_encoded(here);
                Err(layout::see_other(&format!("/entrar/renovar?volver={back}")))
            }
            Err(error) => Err(error.into_response()),
        }
    }
}

/// A form posted by someone logged in, with its session's CSRF token in the field
/// `csrf`: a form without it (or another session's) is refused before its handler runs.
pub struct Posted<T> {
    pub viewer: Viewer,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// The largest form a page posts.
const MAX_FORM_BYTES: usize = 8 * 1024;

impl<T: serde::de::DeserializeOwned> FromRequest<Shared> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Shared) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                refused(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "El formulario es demasiado grande.",
                )
            })?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| refused(StatusCode::BAD_REQUEST, "El formulario no se entiende."))?;
        if !bool::from(viewer.csrf.as_bytes().ct_eq(field.csrf.as_bytes())) {
            tracing::info!(session = ?viewer.caller.session_id, "a form without its session's CSRF token");
            return Err(refused(
                StatusCode::FORBIDDEN,
                "Este formulario venció; hay que recargar la página e intentar de nuevo.",
            ));
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|error| {
            tracing::info!(%error, "a form with fields this page does not send");
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "El formulario no se entiende.",
            )
        })?;
        Ok(Posted { viewer, form })
    }
}

fn refused(status: StatusCode, why: &str) -> Response {
    layout::with_status(
        status,
        layout::page("No se pudo", None, html! { p.error role="alert" { (why) } }),
    )
}

/// A form's fields as posted, in order (checkboxes are present only when ticked).
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The field's value, trimmed; empty when absent.
    pub fn value(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
            .trim()
            .to_owned()
    }

    pub fn checked(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// What follows `prefix` in the names of the fields that have it (`hace_<id>`).
    pub fn suffixes<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter_map(move |(k, _)| k.strip_prefix(prefix))
    }
}

/// The page refusing someone who is not the owner, if they are not.
fn owner_only(viewer: &Viewer) -> Option<Response> {
    (!viewer.caller.owner).then(|| {
        let body =
            html! { p.error role="alert" { "Los ajustes del negocio son sólo para el dueño." } };
        layout::with_status(
            StatusCode::FORBIDDEN,
            layout::page("Ajustes", Some(top_bar("Cita", viewer)), body),
        )
    })
}

/// `text` for a query string's value.
fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The owner's settings pages, the one shown marked.
fn settings_tabs(current: &str) -> Markup {
    html! {
        nav.tabs aria-label="Ajustes" {
            @for (page, label) in [
                ("servicios", "Servicios"),
                ("equipo", "Equipo"),
                ("horario", "Horario y cierres"),
                ("general", "Asistente y avisos"),
                ("negocio", "Información"),
            ] {
                a href={ "/ajustes/" (page) } aria-current=[(page == current).then_some("page")] { (label) }
            }
        }
    }
}

/// The bar above every page of someone logged in.
fn top_bar(business: &str, viewer: &Viewer) -> Markup {
    html! {
        header.top {
            h1 { (business) }
            nav aria-label="Secciones" {
                a href="/hoy" { "Hoy" }
                a href="/clientes" { "Clientes" }
                @if viewer.caller.may(VIEW_BUSINESS_SCHEDULE) { a href="/conversaciones" { "Chats" } }
                @if viewer.caller.owner {
                    a href="/cifras" { "Cifras" }
                    a href="/ajustes" { "Ajustes" }
                    a href="/plan" { "Plan" }
                }
                a href="/sesiones" { "Sesiones" }
            }
            form method="post" action="/salir" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button.quiet type="submit" { "Salir" }
            }
        }
    }
}
