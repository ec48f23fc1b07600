//! The owner's and staff's web pages, served by `cita-api` on its own origin: HTML from
//! the server (templates compiled into the binary), forms that work without JavaScript,
//! one hashed stylesheet, and a strict Content-Security-Policy. The pages read as the API
//! does (row-level security, the same permissions) and will write only through the same
//! scheduling requests.

mod assets;
mod day;
mod layout;
mod login;

use axum::{
    Router,
    extract::FromRequestParts,
    http::request::Parts,
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use maud::{Markup, html};

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
        match Caller::from_request_parts(parts, state).await {
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

/// The bar above every page of someone logged in.
fn top_bar(business: &str, viewer: &Viewer) -> Markup {
    html! {
        header.top {
            h1 { (business) }
            form method="post" action="/salir" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button.quiet type="submit" { "Salir" }
            }
        }
    }
}
