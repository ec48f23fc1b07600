//! The `/v1` surface. Each route is registered with its OpenAPI description
//! (`#[utoipa::path]` on the handler), so the document at `/v1/openapi.json` lists exactly
//! what is served.

mod appointments;
pub(crate) mod auth;
mod calendars;
mod catalog;
mod conversations;
mod customers;
mod events;
mod insights;
mod keys;
pub(crate) mod settings;
mod team;
mod time_off;

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
        .routes(routes!(catalog::services, catalog::create_service))
        .routes(routes!(catalog::update_service))
        .routes(routes!(catalog::staff, team::add_member))
        .routes(routes!(team::remove_member))
        .routes(routes!(team::staff_hours, team::set_staff_hours))
        .routes(routes!(team::set_permissions))
        .routes(routes!(team::business_hours, team::set_business_hours))
        .routes(routes!(settings::get_settings, settings::put_settings))
        .routes(routes!(settings::get_business, settings::put_business))
        .routes(routes!(time_off::list))
        .routes(routes!(time_off::add_closure))
        .routes(routes!(time_off::block))
        .routes(routes!(time_off::remove))
        .routes(routes!(customers::search))
        .routes(routes!(customers::customer, customers::update))
        .routes(routes!(conversations::inbox))
        .routes(routes!(conversations::transcript, conversations::reply))
        .routes(routes!(conversations::take_over))
        .routes(routes!(conversations::release))
        .routes(routes!(insights::figures))
        .routes(routes!(insights::audit))
        .routes(routes!(events::stream))
        .routes(routes!(calendars::list, calendars::create))
        .routes(routes!(calendars::revoke))
        .routes(routes!(calendars::feed))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::revoke))
        .routes(routes!(appointments::walk_in))
        .routes(routes!(appointments::list, appointments::book))
        .routes(routes!(appointments::cancel))
        .routes(routes!(appointments::reschedule))
        .routes(routes!(appointments::set_status))
        .routes(routes!(appointments::decide))
        .routes(routes!(appointments::availability))
        .split_for_parts()
}

/// Scheduling answered with an outcome that does not belong to the request: a bug on one
/// side of the contract, answered as an outage rather than guessed at.
pub(crate) fn unexpected(
    request: &str,
    outcome: &cita_shared::contracts::scheduling::Outcome,
) -> ApiError {
    tracing::error!(
        request,
        ?outcome,
        "scheduling answered with another outcome"
    );
    ApiError::WritesUnavailable
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
