//! Deposits on the events (`scheduling.deposits`): the payment link of a new hold, and
//! what a cancellation or a no-show does to a paid one ([`super::returns`]).
//!
//! The payment link: on `appointment.held` with a deposit, a Checkout
//! Pro preference is made with the business's token (its `external_reference` is the
//! deposit's id), stored, and announced as `appointment.deposit_requested`, which the
//! reminders worker sends to the customer. A redelivered event finds the link made and
//! does nothing; a retried creation makes one preference (the idempotency key).

use cita_shared::{
    amqp::{Handler, Settlement},
    contracts::{
        events::{Envelope, Event},
        scheduling::{Appointment, Deposit, Status},
    },
    crypto::Keyring,
    db::Cached,
};
use deadpool_postgres::Pool;
use jiff::Timestamp;
use lapin::{Channel, message::Delivery};

use super::{
    PaymentError, accounts,
    mercadopago::{MercadoPago, PreferenceRequest},
    returns,
};
use crate::store;

pub struct Links {
    pub pool: Pool,
    pub keyring: Keyring,
    pub provider: MercadoPago,
    /// The ingress's public `/webhooks/mercadopago`, for the preference to notify.
    pub notification_url: Option<String>,
}

impl Handler for Links {
    type Error = PaymentError;
    type Admission = ();

    fn admit(&self, _: &Delivery) {}

    async fn attempt(
        &self,
        delivery: &Delivery,
        (): &(),
        _: &Channel,
    ) -> Result<Settlement, PaymentError> {
        let envelope: Envelope = match serde_json::from_slice(&delivery.data) {
            Ok(envelope) => envelope,
            Err(error) => return Ok(Settlement::DeadLetter(error.to_string())),
        };
        match envelope.event {
            Event::AppointmentHeld {
                appointment,
                deposit: Some(deposit),
                ..
            } => self.link(appointment, deposit).await,
            Event::AppointmentCancelled { appointment, .. } => {
                returns::cancelled(&self.pool, &self.keyring, &self.provider, &appointment).await?;
                Ok(Settlement::Ack)
            }
            Event::AppointmentStatusChanged { appointment, .. }
                if appointment.status == Status::NoShow =>
            {
                returns::no_show(&self.pool, &self.keyring, &self.provider, &appointment).await?;
                Ok(Settlement::Ack)
            }
            _ => Ok(Settlement::Ack),
        }
    }
}

impl Links {
    async fn link(
        &self,
        appointment: Appointment,
        deposit: Deposit,
    ) -> Result<Settlement, PaymentError> {
        let org = appointment.organization_id;
        let row = self
            .pool
            .get()
            .await?
            .maybe_row(
                "SELECT d.preference_id, s.name FROM deposits d
                 JOIN appointments a ON a.id = d.appointment_id
                 JOIN service_types s ON s.id = a.service_type_id
                 WHERE d.organization_id = $1 AND d.id = $2",
                &[&org, &deposit.id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(Settlement::DeadLetter("no such deposit".into()));
        };
        if row.get::<_, Option<String>>(0).is_some() {
            return Ok(Settlement::Ack);
        }
        let service: String = row.get(1);
        let Some(account) = accounts::of_organization(&self.pool, &self.keyring, org).await? else {
            tracing::error!(organization_id = %org, deposit_id = %deposit.id,
                "a deposit is asked for, but the business has no Mercado Pago account; the hold will expire");
            return Ok(Settlement::Ack);
        };
        let reference = deposit.id.to_string();
        let title = format!("Anticipo: {service}");
        let request = PreferenceRequest {
            title: &title,
            amount_minor: deposit.amount_minor,
            currency: &deposit.currency,
            external_reference: &reference,
            notification_url: self.notification_url.as_deref(),
            expires_at: appointment.hold_expires_at.unwrap_or(appointment.starts_at),
            idempotency_key: &reference,
        };
        let preference = match self
            .provider
            .create_preference(&account.token, &request)
            .await
        {
            Ok(preference) => preference,
            Err(error) if error.is_transient() => return Err(error.into()),
            Err(error) => {
                tracing::error!(organization_id = %org, deposit_id = %deposit.id, %error,
                    "Mercado Pago refused the payment link; the hold will expire");
                return Ok(Settlement::Ack);
            }
        };
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let stored = tx
            .execute(
                "UPDATE deposits SET preference_id = $3, link = $4, updated_at = now()
                 WHERE organization_id = $1 AND id = $2 AND preference_id IS NULL",
                &[&org, &deposit.id, &preference.id, &preference.init_point],
            )
            .await?;
        if stored == 1 {
            let event = Event::DepositRequested {
                appointment,
                deposit,
                link: preference.init_point,
            };
            store::emit(&tx, org, Timestamp::now(), event).await?;
        }
        tx.commit().await?;
        Ok(Settlement::Ack)
    }
}
