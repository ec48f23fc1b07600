//! Request bodies and query strings, strictly: a malformed or oversized body, a wrong
//! type or an unknown field (every request type denies them) is a problem+json answer
//! naming what is wrong, before any handler runs.

use axum::{
    extract::{
        FromRequest, FromRequestParts, Request,
        rejection::{JsonRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode, request::Parts},
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::problem::ApiError;

/// The largest body any route accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body of type `T`.
pub struct Body<T>(pub T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::TooLarge(MAX_BODY_BYTES);
    }
    match rejection {
        JsonRejection::JsonDataError(error) => ApiError::Invalid(error.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::BadRequest("the body must be JSON (Content-Type: application/json)".into())
        }
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// A query string of type `T`.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(error)) => {
                Err(ApiError::Invalid(error.body_text()))
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// Path parameters of type `T`; a malformed id is a 404, as an unknown one is.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(_) => Err(ApiError::NotFound("resource")),
        }
    }
}

/// The `Idempotency-Key` header, scoped so the API's keys never meet the chat's. Creating
/// requests require one; others get a fresh key when they send none.
pub fn idempotency_key(headers: &HeaderMap, required: bool) -> Result<String, ApiError> {
    match headers.get("idempotency-key").map(|v| v.to_str()) {
        Some(Ok(key)) if (1..=200).contains(&key.trim().len()) => Ok(format!("api:{}", key.trim())),
        Some(_) => Err(ApiError::BadRequest(
            "Idempotency-Key is 1 to 200 visible characters".into(),
        )),
        None if required => Err(ApiError::BadRequest(
            "Idempotency-Key is required on this request".into(),
        )),
        None => Ok(format!("api:{}", Uuid::new_v4())),
    }
}
