//! The `/v1` surface. Each route is registered with its OpenAPI description
//! (`#[utoipa::path]` on the handler), so the document at `/v1/openapi.json` lists exactly
//! what is served.

mod appointments;
mod auth;
mod catalog;

use axum::{Json, Router, extract::DefaultBodyLimit, routing::get};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        OpenApi as Document,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{body::MAX_BODY_BYTES, problem::ApiError, state::Shared};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cita API",
        description = "The owner's and staff's API of Cita: log in with a code sent over WhatsApp, then manage one organization. Errors are application/problem+json with a stable `code`.",
    ),
    modifiers(&Bearer),
)]
struct Base;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

fn split() -> (Router<Shared>, Document) {
    OpenApiRouter::with_openapi(Base::openapi())
        .routes(routes!(auth::request_code))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::revoke_session))
        .routes(routes!(catalog::organization))
        .routes(routes!(catalog::services))
        .routes(routes!(catalog::staff))
        .routes(routes!(appointments::list, appointments::book))
        .routes(routes!(appointments::cancel))
        .routes(routes!(appointments::reschedule))
        .routes(routes!(appointments::set_status))
        .routes(routes!(appointments::availability))
        .split_for_parts()
}

/// The OpenAPI 3.1 document of the API (`cita-api --openapi` prints it).
pub fn openapi() -> Document {
    split().1
}

pub fn router(state: Shared) -> Router {
    let (routes, document) = split();
    let document = Json(document);
    routes
        .route(
            "/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { document }
            }),
        )
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::BadRequest("this method is not allowed here".into())
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
