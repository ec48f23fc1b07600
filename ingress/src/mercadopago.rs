//! `/webhooks/mercadopago`: Mercado Pago's payment notifications. The signature covers
//! the query's `data.id`, the `x-request-id` header and a timestamp, not the body; the
//! body is published as it came, and the signed id travels beside it as a header, since
//! that id is the only thing the consumer believes (it re-fetches the payment by it).

use std::time::{SystemTime, UNIX_EPOCH};

use cita_shared::{
    amqp::topology::MERCADOPAGO_ROUTING_KEY,
    payments::signature::{self, SignatureError, Signed},
};
use hyper::{body::Incoming, http::request::Parts};
use uuid::Uuid;

use crate::{
    Ingress,
    webhook::{self, Outcome, Reply},
};

/// The AMQP header with the signed `data.id`.
pub const DATA_ID_HEADER: &str = "x-mercadopago-data-id";
/// The AMQP header with the notification's `type` (or legacy `topic`), as the query said.
pub const TYPE_HEADER: &str = "x-mercadopago-type";

impl From<SignatureError> for Outcome {
    fn from(error: SignatureError) -> Self {
        match error {
            SignatureError::Missing => Outcome::SignatureMissing,
            SignatureError::Malformed => Outcome::SignatureMalformed,
            SignatureError::Stale => Outcome::SignatureStale,
            SignatureError::Mismatch => Outcome::SignatureMismatch,
        }
    }
}

/// POST: signature and timestamp, size, publish with confirm; 200 only after the confirm.
pub async fn receive(ingress: &Ingress, parts: Parts, body: Incoming, request_id: Uuid) -> Reply {
    let config = &ingress.config.mercadopago;
    if config.secrets.is_empty() {
        return webhook::not_found();
    }
    let (mut data_id, mut kind) = (None, None);
    for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "data.id" | "id" if data_id.is_none() => data_id = Some(value.into_owned()),
            "type" | "topic" if kind.is_none() => kind = Some(value.into_owned()),
            _ => {}
        }
    }
    let Some(data_id) = data_id.filter(|id| !id.is_empty() && id.len() <= 64) else {
        return Reply::plain(Outcome::NotificationBadRequest, "missing data.id\n");
    };
    let claimed = match signature::parse(parts.headers.get("x-signature").map(|v| v.as_bytes())) {
        Ok(claimed) => claimed,
        Err(error) => return Reply::plain(error.into(), "invalid signature\n"),
    };
    let signed = Signed {
        data_id: Some(&data_id),
        request_id: parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let tolerance = config.tolerance.as_secs() as i64;
    if let Err(error) = signature::verify(&config.secrets, &claimed, signed, now, tolerance) {
        return Reply::plain(error.into(), "invalid signature\n");
    }
    let body = match webhook::read_body(&parts, body, ingress.config.max_body_bytes).await {
        Ok(body) => body,
        Err(outcome) => {
            return Reply::plain(outcome, outcome.status().canonical_reason().unwrap_or(""));
        }
    };
    let properties = webhook::properties(
        request_id,
        &[
            (DATA_ID_HEADER, data_id),
            (TYPE_HEADER, kind.unwrap_or_default()),
        ],
    );
    webhook::publish(
        ingress,
        &config.exchange,
        MERCADOPAGO_ROUTING_KEY,
        &body,
        properties,
    )
    .await
}
