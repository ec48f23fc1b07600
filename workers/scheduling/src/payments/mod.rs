//! Payments: Mercado Pago's notifications, which the ingress checked the signature of and
//! queued on `payments.notifications`. Nothing in a notification is believed but the
//! signed payment id: the payment is re-fetched with the business's own token and its
//! status, amount, currency and reference checked before its deposit is settled.
//!
//! - [`mercadopago`]: the provider's API (preferences, payments, refunds);
//! - [`accounts`]: the business's Mercado Pago account and its sealed token;
//! - [`links`]: the payment link of a new deposit hold;
//! - [`returns`]: refunds on cancellation, forfeits on no-show.

pub mod accounts;
pub mod links;
pub mod mercadopago;
pub mod returns;

use std::sync::Arc;

use cita_shared::{
    amqp::{Handler, Settlement},
    crypto::Keyring,
    error::Classify,
};
use deadpool_postgres::Pool;
use lapin::{Channel, message::Delivery, types::AMQPValue};
use uuid::Uuid;

use crate::{
    error::Error,
    ops::{Paid, Scheduler, Settled},
};
use mercadopago::{MercadoPago, MercadoPagoError};

/// The AMQP headers the ingress adds (`cita_ingress::mercadopago`).
const DATA_ID_HEADER: &str = "x-mercadopago-data-id";
const TYPE_HEADER: &str = "x-mercadopago-type";

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error(transparent)]
    Scheduling(#[from] Error),
    #[error(transparent)]
    Provider(#[from] MercadoPagoError),
}

impl From<tokio_postgres::Error> for PaymentError {
    fn from(error: tokio_postgres::Error) -> Self {
        PaymentError::Scheduling(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for PaymentError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        PaymentError::Scheduling(error.into())
    }
}

impl Classify for PaymentError {
    fn is_transient(&self) -> bool {
        match self {
            PaymentError::Scheduling(error) => error.is_transient(),
            PaymentError::Provider(error) => error.is_transient(),
        }
    }
}

pub struct Notifications {
    pub scheduler: Arc<Scheduler>,
    pub pool: Pool,
    pub keyring: Keyring,
    pub provider: MercadoPago,
}

impl Handler for Notifications {
    type Error = PaymentError;
    type Admission = ();

    fn admit(&self, _: &Delivery) {}

    async fn attempt(
        &self,
        delivery: &Delivery,
        (): &(),
        _: &Channel,
    ) -> Result<Settlement, PaymentError> {
        let header = |name: &str| match delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(name))
        {
            Some(AMQPValue::LongString(value)) => Some(value.to_string()),
            _ => None,
        };
        let Some(payment_id) = header(DATA_ID_HEADER) else {
            return Ok(dead("no signed payment id"));
        };
        if header(TYPE_HEADER).as_deref() != Some("payment") {
            tracing::info!(%payment_id, kind = ?header(TYPE_HEADER), "notification of another kind ignored");
            return Ok(Settlement::Ack);
        }
        // Which seller's payment: the body names it (unsigned, so only as a hint: the
        // re-fetched payment must carry a reference of that seller's organization).
        let seller = serde_json::from_slice::<serde_json::Value>(&delivery.data)
            .ok()
            .and_then(|body| match &body["user_id"] {
                serde_json::Value::String(id) => Some(id.clone()),
                serde_json::Value::Number(id) => Some(id.to_string()),
                _ => None,
            });
        let Some(seller) = seller else {
            return Ok(dead("no seller (user_id) in the notification"));
        };
        let Some(account) = accounts::by_seller(&self.pool, &self.keyring, &seller).await? else {
            return Ok(dead("no business has this Mercado Pago account"));
        };
        let payment = match self.provider.payment(&account.token, &payment_id).await {
            Ok(payment) => payment,
            Err(error) if error.is_transient() => return Err(error.into()),
            Err(error) => return Ok(dead(&error.to_string())),
        };
        if payment.status != "approved" {
            tracing::info!(%payment_id, status = %payment.status, "payment not approved (yet); nothing to do");
            return Ok(Settlement::Ack);
        }
        let Some(deposit_id) = payment
            .external_reference
            .as_deref()
            .and_then(|r| Uuid::try_parse(r).ok())
        else {
            return Ok(dead("the payment's reference is not a deposit"));
        };
        let paid = Paid {
            payment_id: payment.id.clone(),
            amount_minor: payment.amount_minor,
            currency: payment.currency.clone(),
        };
        let settled = match self
            .scheduler
            .settle_deposit(account.organization_id, deposit_id, &paid)
            .await
        {
            Ok(settled) => settled,
            Err(Error::Rejected(
                cita_shared::contracts::scheduling::SchedulingError::NotFound { .. },
            )) => {
                return Ok(dead("the reference is no deposit of this business"));
            }
            Err(error) => return Err(error.into()),
        };
        tracing::info!(%payment_id, %deposit_id, outcome = settled.label(), "payment settled");
        match settled {
            // Owed back now, or owed since a refund call that failed after the payment
            // was counted (this is its retry).
            Settled::RefundDue { .. } | Settled::AlreadyPaid => {
                if let Some(due) = accounts::refund_due(&self.pool, deposit_id, &payment.id).await?
                {
                    let refund = self.provider.refund(&account.token, &payment.id).await?;
                    accounts::refunded(&self.pool, due, &refund).await?;
                }
            }
            // The deposit stands by its first payment; this one goes back.
            Settled::PaidTwice { .. } => {
                self.provider.refund(&account.token, &payment.id).await?;
            }
            Settled::Confirmed(_) | Settled::Mismatch(_) => {}
        }
        Ok(Settlement::Ack)
    }
}

fn dead(reason: &str) -> Settlement {
    tracing::warn!(reason, "payment notification dead-lettered");
    Settlement::DeadLetter(reason.to_owned())
}
