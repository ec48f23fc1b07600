//! The `/v1` surface.

mod appointments;
mod auth;
mod catalog;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{delete, get, post},
};

use crate::{body::MAX_BODY_BYTES, problem::ApiError, state::Shared};

pub fn router(state: Shared) -> Router {
    let organization = "/v1/organizations/{organization_id}";
    Router::new()
        .route("/v1/auth/code", post(auth::request_code))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/me", get(auth::me))
        .route("/v1/sessions", get(auth::list_sessions))
        .route("/v1/sessions/{session_id}", delete(auth::revoke_session))
        .route(organization, get(catalog::organization))
        .route(&format!("{organization}/services"), get(catalog::services))
        .route(&format!("{organization}/staff"), get(catalog::staff))
        .route(
            &format!("{organization}/appointments"),
            get(appointments::list).post(appointments::book),
        )
        .route(
            &format!("{organization}/appointments/{{appointment_id}}/cancel"),
            post(appointments::cancel),
        )
        .route(
            &format!("{organization}/appointments/{{appointment_id}}/move"),
            post(appointments::reschedule),
        )
        .route(
            &format!("{organization}/appointments/{{appointment_id}}/status"),
            post(appointments::set_status),
        )
        .route(
            &format!("{organization}/availability"),
            get(appointments::availability),
        )
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::BadRequest("this method is not allowed here".into())
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
