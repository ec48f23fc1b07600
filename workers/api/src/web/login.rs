//! Entrar: the phone number, then the code WhatsApp brought, then the day. The same
//! login as `/v1/auth/*` (same limits, same sessions), answered with the browser's
//! cookies and a redirect instead of JSON. Salir ends the session.

use std::net::SocketAddr;

use axum::{
    Form,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use maud::{Markup, html};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::layout::{page, see_other, with_status};
use cita_shared::whatsapp::phone;

use crate::{
    auth::{
        codes::{self, e164},
        cookies, jwt,
        sessions::{self},
    },
    problem::ApiError,
    routes::auth::{open_session, send_code},
    state::Shared,
};

#[derive(Debug, Default, Deserialize)]
pub struct Entry {
    #[serde(default)]
    telefono: String,
    #[serde(default)]
    codigo: String,
}

/// A number as typed on the form, as `+` and digits. Ten digits without a country code
/// are Mexican: Colombian numbers are written with +57 (the hint says so).
fn typed_number(typed: &str) -> String {
    phone::parse_typed(typed, "52").map_or_else(|| typed.to_owned(), |digits| format!("+{digits}"))
}

/// `GET /entrar`: the number form, or with `?telefono=` the code form.
pub async fn form(Query(entry): Query<Entry>) -> Response {
    let typed = typed_number(&entry.telefono);
    match e164(&typed) {
        Ok(_) => code_page(&typed, None),
        Err(_) => phone_page(&entry.telefono, None),
    }
}

/// `POST /entrar`: sends the code and asks for it.
pub async fn ask_code(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(entry): Form<Entry>,
) -> Response {
    let typed = typed_number(&entry.telefono);
    match send_code(&state, &typed, peer, None).await {
        Ok(()) => see_other(&format!(
            "/entrar?telefono={}",
            typed.trim_start_matches('+')
        )),
        Err(ApiError::RateLimited { .. }) => with_status(
            StatusCode::TOO_MANY_REQUESTS,
            phone_page(
                &entry.telefono,
                Some("Se pidieron demasiados códigos; en unos minutos se puede pedir otro."),
            ),
        ),
        Err(_) => with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            phone_page(
                &entry.telefono,
                Some("Ese número no parece válido. Escríbelo con lada, por ejemplo 55 1234 5678."),
            ),
        ),
    }
}

/// `POST /entrar/codigo`: checks the code, opens the session in cookies, and goes to the day.
pub async fn enter(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(entry): Form<Entry>,
) -> Response {
    let phone = typed_number(&entry.telefono);
    match open_session(&state, &phone, entry.codigo.trim(), None, peer, &headers).await {
        Ok(tokens) => {
            tracing::info!(session = %tokens.session_id, staff = %tokens.staff_id, "logged in to the dashboard");
            with_cookies(&state, &tokens, see_other("/hoy"))
        }
        Err(ApiError::RateLimited { .. }) => with_status(
            StatusCode::TOO_MANY_REQUESTS,
            code_page(
                &phone,
                Some("Demasiados intentos; en unos minutos se puede pedir otro código."),
            ),
        ),
        Err(ApiError::InvalidCode) => with_status(
            StatusCode::UNAUTHORIZED,
            code_page(&phone, Some("Ese código no es correcto o ya venció.")),
        ),
        Err(error) => {
            tracing::warn!(error = %cita_shared::error::Chain(&error), "dashboard login failed");
            with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                code_page(
                    &phone,
                    Some("No se pudo entrar ahora; en un momento se puede intentar de nuevo."),
                ),
            )
        }
    }
}

fn with_cookies(state: &Shared, tokens: &sessions::Tokens, mut response: Response) -> Response {
    let csrf = cookies::csrf_token(state, tokens.session_id);
    let set = cookies::set_at(
        &tokens.access_token,
        &tokens.refresh_token,
        &csrf,
        cookies::PAGES_REFRESH_PATH,
    );
    for (name, value) in set {
        response.headers_mut().append(name, value);
    }
    response
}

#[derive(Debug, Deserialize)]
pub struct Renew {
    #[serde(default)]
    volver: String,
}

/// `GET /entrar/renovar?volver=/hoy`: a page whose access cookie ran out comes here, where
/// the pages' refresh cookie is sent; a new pair of cookies, and back to the page. Without
/// a live refresh cookie, Entrar. `SameSite=Strict` keeps other sites from starting it.
pub async fn renew(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(renew): Query<Renew>,
) -> Response {
    // Only a path of this site: never `//elsewhere` or `https://…`.
    let back = if renew.volver.starts_with('/') && !renew.volver.starts_with("//") {
        renew.volver.as_str()
    } else {
        "/hoy"
    };
    let Some(token) = cookies::read(&headers, cookies::REFRESH) else {
        return see_other("/entrar");
    };
    match sessions::renew(&state, token).await {
        Ok(sessions::Renewed::Rotated(tokens)) => with_cookies(&state, &tokens, see_other(back)),
        Ok(sessions::Renewed::AccessOnly {
            access_token,
            session_id,
        }) => {
            let csrf = cookies::csrf_token(&state, session_id);
            let mut response = see_other(back);
            for (name, value) in cookies::set_access(&access_token, &csrf) {
                response.headers_mut().append(name, value);
            }
            response
        }
        Err(ApiError::Unauthorized) => see_other("/entrar"),
        Err(error) => {
            tracing::warn!(error = %cita_shared::error::Chain(&error), "dashboard session not renewed");
            error.into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Leave {
    csrf: String,
}

/// `POST /salir`: ends this session (the form carries its CSRF token) and its cookies.
pub async fn leave(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(leave): Form<Leave>,
) -> Response {
    let claims = cookies::read(&headers, cookies::ACCESS)
        .and_then(|token| jwt::verify::<jwt::Claims>(&state.keys, token, state.clock.now()).ok());
    if let Some(claims) = claims {
        let expected = cookies::csrf_token(&state, claims.sid);
        if bool::from(expected.as_bytes().ct_eq(leave.csrf.as_bytes())) {
            if let Err(error) =
                sessions::revoke(&state, claims.org, claims.sub, claims.sid, "logout").await
            {
                tracing::warn!(error = %cita_shared::error::Chain(&error), "dashboard logout failed");
                return error.into_response();
            }
        } else {
            tracing::info!(session = %claims.sid, "a logout form without its CSRF token");
            return with_status(
                StatusCode::FORBIDDEN,
                phone_page(
                    "",
                    Some("No se pudo salir: hay que recargar la página e intentar de nuevo."),
                ),
            );
        }
    }
    let mut response = see_other("/entrar");
    for (name, value) in cookies::clear() {
        response.headers_mut().append(name, value);
    }
    response
}

fn phone_page(typed: &str, error: Option<&str>) -> Response {
    page(
        "Entrar",
        None,
        card(html! {
            h2 { "Entrar a Cita" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form method="post" action="/entrar" {
                label for="telefono" { "Número de WhatsApp" }
                input #telefono type="tel" name="telefono" value=(typed) autocomplete="tel" inputmode="tel" required autofocus;
                p.hint { "Llega un código por WhatsApp. Sólo funciona con el número de alguien del equipo; en Colombia, con +57 al inicio." }
                button type="submit" { "Enviarme un código" }
            }
        }),
    )
}

fn code_page(phone: &str, error: Option<&str>) -> Response {
    let minutes = codes::CODE_TTL.as_secs() / 60;
    page(
        "Código",
        None,
        card(html! {
            h2 { "El código de WhatsApp" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            p.hint { "Si " (phone) " es del equipo, le llegó un código por WhatsApp. Vale " (minutes) " minutos." }
            form method="post" action="/entrar/codigo" {
                input type="hidden" name="telefono" value=(phone);
                label for="codigo" { "Código" }
                input #codigo type="text" name="codigo" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]*" maxlength="8" required autofocus;
                p.hint { a href="/entrar" { "Usar otro número" } }
                button type="submit" { "Entrar" }
            }
        }),
    )
}

fn card(inner: Markup) -> Markup {
    html! { section.card { (inner) } }
}
