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
}

pub(super) fn validate(raw: &Raw) -> Result<PaymentSettings, ConfigError> {
    let tolerance = raw.mercadopago_signature_tolerance_secs.unwrap_or(300);
    if !(1..=3600).contains(&tolerance) {
        return Err(invalid(
            "CITA_MERCADOPAGO_SIGNATURE_TOLERANCE_SECS",
            "1 to 3600 seconds",
        ));
    }
    Ok(PaymentSettings {
        mercadopago_webhook_secrets: super::secret_list(raw.mercadopago_webhook_secret.as_ref()),
        signature_tolerance: Duration::from_secs(tolerance),
    })
}
