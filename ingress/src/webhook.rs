//! `/webhooks/whatsapp`: Meta's subscription handshake (GET) and notifications (POST).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cita_shared::{
    amqp::PublishError,
    http::{Body, text},
    trace::{self, Trace},
    whatsapp::signature::{self, SignatureError},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::{Response, StatusCode, body::Incoming, header, http::request::Parts};
use lapin::{
    BasicProperties,
    types::{AMQPValue, FieldTable},
};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::Ingress;

/// The answer to one request, with what the log line needs to know about it.
pub struct Reply {
    pub outcome: Outcome,
    pub response: Response<Body>,
    /// Why the broker did not take the body, for the log; never shown to the client.
    pub publish_error: Option<PublishError>,
}

impl Reply {
    pub(crate) fn plain(outcome: Outcome, body: impl Into<Bytes>) -> Self {
        Reply {
            outcome,
            response: text(outcome.status(), body),
            publish_error: None,
        }
    }
}

/// What became of one request; logged and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Published,
    Verified,
    VerifyRefused,
    VerifyBadRequest,
    SignatureMissing,
    SignatureMalformed,
    SignatureMismatch,
    SignatureStale,
    NotificationBadRequest,
    TooLarge,
    BodyUnreadable,
    BrokerUnavailable,
    NotFound,
    MethodNotAllowed,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Published => "published",
            Outcome::Verified => "verified",
            Outcome::VerifyRefused => "verify_refused",
            Outcome::VerifyBadRequest => "verify_bad_request",
            Outcome::SignatureMissing => "signature_missing",
            Outcome::SignatureMalformed => "signature_malformed",
            Outcome::SignatureMismatch => "signature_mismatch",
            Outcome::SignatureStale => "signature_stale",
            Outcome::NotificationBadRequest => "notification_bad_request",
            Outcome::TooLarge => "too_large",
            Outcome::BodyUnreadable => "body_unreadable",
            Outcome::BrokerUnavailable => "broker_unavailable",
            Outcome::NotFound => "not_found",
            Outcome::MethodNotAllowed => "method_not_allowed",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Outcome::Published | Outcome::Verified => StatusCode::OK,
            Outcome::VerifyRefused => StatusCode::FORBIDDEN,
            Outcome::VerifyBadRequest
            | Outcome::BodyUnreadable
            | Outcome::NotificationBadRequest => StatusCode::BAD_REQUEST,
            Outcome::SignatureMissing
            | Outcome::SignatureMalformed
            | Outcome::SignatureMismatch
            | Outcome::SignatureStale => StatusCode::UNAUTHORIZED,
            Outcome::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Outcome::BrokerUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Outcome::NotFound => StatusCode::NOT_FOUND,
            Outcome::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

impl From<SignatureError> for Outcome {
    fn from(error: SignatureError) -> Self {
        match error {
            SignatureError::Missing => Outcome::SignatureMissing,
            SignatureError::Malformed => Outcome::SignatureMalformed,
            SignatureError::Mismatch => Outcome::SignatureMismatch,
        }
    }
}

/// GET: answers `hub.challenge` when `hub.mode=subscribe` and the verify token matches.
pub fn verify_subscription(ingress: &Ingress, parts: &Parts) -> Reply {
    let (mut mode, mut token, mut challenge) = (None, None, None);
    for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "hub.mode" => mode = Some(value),
            "hub.verify_token" => token = Some(value),
            "hub.challenge" => challenge = Some(value),
            _ => {}
        }
    }
    let token_matches = token.is_some_and(|token| {
        bool::from(
            token
                .as_bytes()
                .ct_eq(ingress.config.verify_token.expose().as_bytes()),
        )
    });
    if mode.as_deref() != Some("subscribe") || !token_matches {
        return Reply::plain(Outcome::VerifyRefused, "forbidden\n");
    }
    match challenge {
        Some(challenge) => Reply::plain(Outcome::Verified, challenge.into_owned()),
        None => Reply::plain(Outcome::VerifyBadRequest, "missing hub.challenge\n"),
    }
}

/// POST: signature, size, publish with confirm. 200 only after the broker's confirm.
pub async fn receive(ingress: &Ingress, parts: Parts, body: Incoming, request_id: Uuid) -> Reply {
    let claimed = match signature::parse(
        parts
            .headers
            .get("x-hub-signature-256")
            .map(|v| v.as_bytes()),
    ) {
        Ok(claimed) => claimed,
        Err(error) => return Reply::plain(error.into(), "invalid signature\n"),
    };
    let body = match read_body(&parts, body, ingress.config.max_body_bytes).await {
        Ok(body) => body,
        Err(outcome) => {
            return Reply::plain(outcome, outcome.status().canonical_reason().unwrap_or(""));
        }
    };
    if let Err(error) = signature::verify(&ingress.config.app_secrets, &claimed, &body) {
        return Reply::plain(error.into(), "invalid signature\n");
    }

    publish(
        ingress,
        &ingress.config.exchange,
        cita_shared::amqp::topology::WHATSAPP_ROUTING_KEY,
        &body,
        properties(request_id, &[]),
    )
    .await
}

/// Publishes a verified body and answers once the broker confirmed it (or did not).
pub(crate) async fn publish(
    ingress: &Ingress,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Reply {
    let started = Instant::now();
    let published = ingress
        .publisher
        .publish(exchange, routing_key, body, properties)
        .await;
    ingress
        .metrics
        .confirm_seconds
        .observe(started.elapsed().as_secs_f64());
    match published {
        Ok(()) => Reply::plain(Outcome::Published, ""),
        Err(error) => Reply {
            publish_error: Some(error),
            ..Reply::plain(Outcome::BrokerUnavailable, "try again later\n")
        },
    }
}

/// Reads the whole body, refusing one over `limit` without buffering past the limit.
pub(crate) async fn read_body(
    parts: &Parts,
    body: Incoming,
    limit: usize,
) -> Result<Bytes, Outcome> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Outcome::TooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(Outcome::TooLarge),
        Err(_) => Err(Outcome::BodyUnreadable),
    }
}

/// AMQP properties of a published webhook: the request id (also the message id and the
/// trace id of everything the webhook causes) and the receive time travel with the body
/// through every later hop, with the route's `extra` headers.
pub(crate) fn properties(request_id: Uuid, extra: &[(&str, String)]) -> BasicProperties {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut headers = FieldTable::default();
    headers.insert(
        "x-request-id".into(),
        AMQPValue::LongString(request_id.to_string().into()),
    );
    headers.insert(
        trace::HEADER.into(),
        AMQPValue::LongString(Trace::start(request_id).to_string().into()),
    );
    headers.insert(
        "x-received-at-ms".into(),
        AMQPValue::LongLongInt(i64::try_from(now.as_millis()).unwrap_or(i64::MAX)),
    );
    for (name, value) in extra {
        headers.insert((*name).into(), AMQPValue::LongString(value.as_str().into()));
    }
    BasicProperties::default()
        .with_message_id(request_id.to_string().into())
        .with_timestamp(now.as_secs())
        .with_content_type("application/json".into())
        .with_app_id("cita-ingress".into())
        .with_headers(headers)
}

pub fn not_found() -> Reply {
    Reply::plain(Outcome::NotFound, "not found\n")
}

pub fn method_not_allowed() -> Reply {
    let mut reply = Reply::plain(Outcome::MethodNotAllowed, "method not allowed\n");
    reply
        .response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
    reply
}
