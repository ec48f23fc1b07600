//! Mercado Pago: the secret its notifications are signed with, and how far their
//! timestamp may be from ours.

use std::time::Duration;

use super::{ConfigError, Raw, invalid};
use crate::secret::Secret;

#[derive(Clone, Debug)]
pub struct PaymentSettings {
    /// The webhook secrets of the platform's Mercado Pago application (several during a
    /// rotation). Empty: the ingress does not take Mercado Pago notifications.
    pub mercadopago_webhook_secrets: Vec<Secret>,
    /// A notification whose signed `ts` is further than this from now is refused, so that
    /// a captured request cannot be replayed later.
    pub signature_tolerance: Duration,
    /// `https://api.mercadopago.com` in production; a local fake in tests and the demo.
    pub mercadopago_api_base: String,
    /// The public URL of the ingress's `/webhooks/mercadopago`, which payment links ask
    /// Mercado Pago to notify (else the application's configured URL is used).
    pub mercadopago_notification_url: Option<String>,
}

pub(super) fn validate(raw: &Raw) -> Result<PaymentSettings, ConfigError> {
    let tolerance = raw.mercadopago_signature_tolerance_secs.unwrap_or(300);
    if !(1..=3600).contains(&tolerance) {
        return Err(invalid(
            "CITA_MERCADOPAGO_SIGNATURE_TOLERANCE_SECS",
            "1 to 3600 seconds",
        ));
    }
    let base = raw
        .mercadopago_api_base
        .as_deref()
        .unwrap_or("https://api.mercadopago.com")
        .trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(invalid(
            "CITA_MERCADOPAGO_API_BASE",
            "must start with https:// (or http:// for a local fake)",
        ));
    }
    Ok(PaymentSettings {
        mercadopago_api_base: base.to_owned(),
        mercadopago_notification_url: raw
            .mercadopago_notification_url
            .clone()
            .filter(|url| !url.trim().is_empty()),
        mercadopago_webhook_secrets: super::secret_list(raw.mercadopago_webhook_secret.as_ref()),
        signature_tolerance: Duration::from_secs(tolerance),
    })
}
