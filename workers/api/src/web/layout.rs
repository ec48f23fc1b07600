//! The shell every page shares, and the headers every page is served with: a strict
//! Content-Security-Policy (nothing inline, nothing from elsewhere), no framing, no
//! caching of pages that show a business's day.

use axum::{
    extract::Request,
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use maud::{DOCTYPE, Markup, html};

use super::assets::{LIVE_SCRIPT, STYLESHEET};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A whole page: `title` in the tab, `top` in the bar, `body` below it.
pub fn page(title: &str, top: Option<Markup>, body: Markup) -> Response {
    page_with(title, top, body, false)
}

/// The same, with the script that keeps the day's grid live.
pub fn page_with(title: &str, top: Option<Markup>, body: Markup, live: bool) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="es" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Cita" }
                link rel="stylesheet" href=(STYLESHEET.path);
                @if live { script src=(LIVE_SCRIPT.path) defer {} }
            }
            body {
                @if let Some(top) = top { (top) }
                main { (body) }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// The same page with another status (a form refused, a page not found).
pub fn with_status(status: StatusCode, response: Response) -> Response {
    (status, response).into_response()
}

/// Adds the pages' security headers. A form posted from another origin (or with no
/// `Origin`, which browsers always send on POST) is refused before its handler runs:
/// with the cookies' `SameSite=Strict`, that is the pages' defence against forged forms.
pub async fn guard(request: Request, next: Next) -> Response {
    if request.method() == Method::POST && !same_origin(&request) {
        tracing::info!(path = %request.uri().path(), "a form posted from another origin");
        let refused = page(
            "No permitido",
            None,
            html! { p.error { "Este formulario no vino de esta página; hay que intentarlo otra vez desde Cita." } },
        );
        return secured(with_status(StatusCode::FORBIDDEN, refused));
    }
    secured(next.run(request).await)
}

fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn same_origin(request: &Request) -> bool {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host),
        _ => false,
    }
}

/// A 303 to `to`: where a form sends the browser next.
pub fn see_other(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response()
}
