//! The part of Mercado Pago's API that deposits use, over HTTPS with the business's
//! access token: Checkout Pro preferences (the link the customer pays), payments
//! (re-fetched before anything is believed) and refunds. Amounts cross as integer minor
//! units; Mercado Pago's decimals are converted here and nowhere else.

use std::time::Duration;

use cita_shared::secret::Secret;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum MercadoPagoError {
    /// The token was refused: the business must connect Mercado Pago again.
    #[error("Mercado Pago refused the access token ({status})")]
    Unauthorized { status: u16 },
    #[error("Mercado Pago has no such {what}")]
    NotFound { what: &'static str },
    /// A 4xx other than the above: the request is wrong and will stay wrong.
    #[error("Mercado Pago refused the request ({status}): {body}")]
    Refused { status: u16, body: String },
    /// A 5xx, a 429, a timeout or no connection: worth trying again later.
    #[error("Mercado Pago is unavailable: {0}")]
    Unavailable(String),
    #[error("Mercado Pago answered something unreadable ({status}): {reason}")]
    Unexpected { status: u16, reason: String },
}

impl MercadoPagoError {
    pub fn is_transient(&self) -> bool {
        matches!(self, MercadoPagoError::Unavailable(_))
    }
}

/// A payment as Mercado Pago reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    /// `approved`, `pending`, `in_process`, `rejected`, `refunded`, `cancelled`, …
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub external_reference: Option<String>,
}

/// What a deposit's payment link asks for.
#[derive(Debug, Clone)]
pub struct PreferenceRequest<'a> {
    pub title: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    /// Ties the payment to the deposit: the deposit's id.
    pub external_reference: &'a str,
    /// Where Mercado Pago notifies (the ingress's public route), if configured.
    pub notification_url: Option<&'a str>,
    /// The link stops taking payments then; the hold's own deadline is Cita's clock's.
    pub expires_at: Timestamp,
    /// Sent as `X-Idempotency-Key`, so a retried creation makes one preference.
    pub idempotency_key: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preference {
    pub id: String,
    /// The link the customer opens.
    pub init_point: String,
}

#[derive(Clone)]
pub struct MercadoPago {
    http: reqwest::Client,
    base: String,
}

impl MercadoPago {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, MercadoPagoError> {
        // reqwest is built without a bundled TLS provider; ring is ours.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("cita-scheduling/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MercadoPagoError::Unavailable(e.to_string()))?;
        Ok(MercadoPago {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// `POST /checkout/preferences`.
    pub async fn create_preference(
        &self,
        token: &Secret,
        request: &PreferenceRequest<'_>,
    ) -> Result<Preference, MercadoPagoError> {
        let mut body = json!({
            "items": [{
                "title": request.title,
                "quantity": 1,
                "unit_price": decimal(request.amount_minor),
                "currency_id": request.currency,
            }],
            "external_reference": request.external_reference,
            "expires": true,
            "expiration_date_to": request.expires_at.to_string(),
        });
        if let Some(url) = request.notification_url {
            body["notification_url"] = json!(url);
        }
        let answer = self
            .http
            .post(format!("{}/checkout/preferences", self.base))
            .bearer_auth(token.expose())
            .header("X-Idempotency-Key", request.idempotency_key)
            .header("content-type", "application/json")
            .body(body.to_string());
        let (status, value) = self.call(answer, "preference").await?;
        let text = |key: &str| value[key].as_str().map(str::to_owned);
        match (text("id"), text("init_point")) {
            (Some(id), Some(init_point)) => Ok(Preference { id, init_point }),
            _ => Err(MercadoPagoError::Unexpected {
                status,
                reason: "no id or init_point".into(),
            }),
        }
    }

    /// `GET /v1/payments/{id}`.
    pub async fn payment(&self, token: &Secret, id: &str) -> Result<Payment, MercadoPagoError> {
        #[derive(Deserialize)]
        struct Raw {
            id: Value,
            status: String,
            transaction_amount: f64,
            currency_id: String,
            external_reference: Option<String>,
        }
        let answer = self
            .http
            .get(format!("{}/v1/payments/{}", self.base, path_segment(id)))
            .bearer_auth(token.expose());
        let (status, value) = self.call(answer, "payment").await?;
        let raw: Raw = serde_json::from_value(value).map_err(|e| MercadoPagoError::Unexpected {
            status,
            reason: e.to_string(),
        })?;
        Ok(Payment {
            id: match raw.id {
                Value::String(id) => id,
                other => other.to_string(),
            },
            status: raw.status,
            amount_minor: minor(raw.transaction_amount),
            currency: raw.currency_id,
            external_reference: raw.external_reference,
        })
    }

    /// `POST /v1/payments/{id}/refunds`, in full. A payment is given back once, whoever
    /// asks and however often: the idempotency key is the payment's.
    pub async fn refund(
        &self,
        token: &Secret,
        payment_id: &str,
    ) -> Result<String, MercadoPagoError> {
        let answer = self
            .http
            .post(format!(
                "{}/v1/payments/{}/refunds",
                self.base,
                path_segment(payment_id)
            ))
            .bearer_auth(token.expose())
            .header("X-Idempotency-Key", format!("refund:{payment_id}"))
            .header("content-type", "application/json")
            .body("{}");
        let (status, value) = self.call(answer, "payment").await?;
        match &value["id"] {
            Value::String(id) => Ok(id.clone()),
            Value::Number(id) => Ok(id.to_string()),
            _ => Err(MercadoPagoError::Unexpected {
                status,
                reason: "no refund id".into(),
            }),
        }
    }

    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<(u16, Value), MercadoPagoError> {
        let response = request
            .send()
            .await
            .map_err(|e| MercadoPagoError::Unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| MercadoPagoError::Unavailable(e.to_string()))?;
        match status {
            200..=299 => serde_json::from_slice(&bytes)
                .map(|value| (status, value))
                .map_err(|e| MercadoPagoError::Unexpected {
                    status,
                    reason: e.to_string(),
                }),
            401 | 403 => Err(MercadoPagoError::Unauthorized { status }),
            404 => Err(MercadoPagoError::NotFound { what }),
            429 | 500..=599 => Err(MercadoPagoError::Unavailable(format!("HTTP {status}"))),
            _ => Err(MercadoPagoError::Refused {
                status,
                body: String::from_utf8_lossy(&bytes).chars().take(500).collect(),
            }),
        }
    }
}

/// Mercado Pago's decimal amount for integer minor units (both currencies have two).
fn decimal(minor: i64) -> f64 {
    minor as f64 / 100.0
}

fn minor(decimal: f64) -> i64 {
    (decimal * 100.0).round() as i64
}

/// Ids are digits; anything else is kept out of the URL's structure.
fn path_segment(id: &str) -> String {
    id.chars().filter(char::is_ascii_alphanumeric).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_become_minor_units_without_float_drift() {
        assert_eq!(minor(150.0), 15_000);
        assert_eq!(minor(0.29), 29);
        assert_eq!(minor(1234.56), 123_456);
        assert_eq!(minor(decimal(3_000_000)), 3_000_000);
        assert_eq!(path_segment("123/../x?y"), "123xy");
    }
}
