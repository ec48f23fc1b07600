//! Every failure of the API, answered as `application/problem+json` (RFC 9457) with a
//! stable machine `code`. Each case is logged once, here, at the level it deserves.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use cita_shared::{
    contracts::scheduling::{SchedulingError, WINDOW_TEMPLATES},
    error::Infra,
};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("not allowed for this account")]
    Forbidden,
    /// An operator's token used beyond what it allows.
    #[error("{0}")]
    OperatorScope(&'static str),
    /// A change made with the session cookie, without the session's CSRF token.
    #[error("send the session's CSRF token in X-CSRF-Token")]
    Csrf,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("too many requests")]
    RateLimited { retry_after_seconds: u64 },
    #[error("the code is wrong or expired")]
    InvalidCode,
    #[error("{0}")]
    Conflict(String),
    /// A change that must name the version it replaces (`If-Match`) did not.
    #[error("{0}")]
    PreconditionRequired(String),
    /// Scheduling refused the request, with its own reason.
    #[error(transparent)]
    Scheduling(SchedulingError),
    /// The broker or scheduling did not answer: the write may be retried.
    #[error("scheduling is unavailable")]
    WritesUnavailable,
    #[error(transparent)]
    Infra(#[from] Infra),
    #[error("redis failed")]
    Redis(#[from] redis::RedisError),
}

cita_shared::infra_errors!(ApiError);

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::InvalidCode => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::Csrf | ApiError::OperatorScope(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Scheduling(error) => match error {
                SchedulingError::SlotTaken { .. } | SchedulingError::NotAvailable { .. } => {
                    StatusCode::CONFLICT
                }
                SchedulingError::Forbidden => StatusCode::FORBIDDEN,
                // Another organization's id looks exactly like a missing one.
                SchedulingError::NotFound { .. } => StatusCode::NOT_FOUND,
                SchedulingError::QuotaExceeded => StatusCode::PAYMENT_REQUIRED,
                SchedulingError::IllegalTransition { .. } => StatusCode::CONFLICT,
                SchedulingError::InvalidRequest { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                SchedulingError::TooLate { .. } | SchedulingError::OutsideWindow { .. } => {
                    StatusCode::CONFLICT
                }
                SchedulingError::StaleVersion { .. } => StatusCode::PRECONDITION_FAILED,
                SchedulingError::HoldExpired { .. } | SchedulingError::AlreadyDecided { .. } => {
                    StatusCode::CONFLICT
                }
                SchedulingError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            },
            ApiError::WritesUnavailable | ApiError::Infra(_) | ApiError::Redis(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The stable machine code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::OperatorScope(_) => "operator_scope",
            ApiError::Csrf => "csrf",
            ApiError::NotFound(_) => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Invalid(_) => "invalid_request",
            ApiError::TooLarge(_) => "body_too_large",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::InvalidCode => "invalid_code",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionRequired(_) => "precondition_required",
            ApiError::Scheduling(error) => error.code(),
            ApiError::WritesUnavailable | ApiError::Infra(_) | ApiError::Redis(_) => "unavailable",
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            ApiError::WritesUnavailable
            | ApiError::Infra(_)
            | ApiError::Redis(_)
            | ApiError::Scheduling(SchedulingError::Unavailable) => Some(5),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        if status.is_server_error() {
            tracing::warn!(code, error = %cita_shared::error::Chain(&self), "request failed");
        } else {
            tracing::info!(code, status = status.as_u16(), reason = %self, "request refused");
        }
        let mut body = json!({
            "type": format!("https://cita.mx/problems/{code}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "code": code,
            "detail": self.to_string(),
        });
        if let ApiError::Scheduling(
            SchedulingError::SlotTaken { alternatives }
            | SchedulingError::NotAvailable { alternatives },
        ) = &self
        {
            body["alternatives"] = json!(alternatives);
        }
        // What can be sent instead: a template, which the same route takes.
        if let ApiError::Scheduling(SchedulingError::OutsideWindow { last_inbound_at }) = &self {
            body["last_inbound_at"] = json!(last_inbound_at);
            body["templates"] = json!(WINDOW_TEMPLATES);
        }
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The shape of every refusal (RFC 9457), for the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://cita.mx/problems/<code>`.
    pub r#type: String,
    pub title: String,
    pub status: u16,
    /// Stable and machine-readable: `unauthorized`, `not_found`, `slot_taken`, …
    pub code: String,
    pub detail: String,
}
