//! What becomes of a delivery once its handler has decided: the one place where
//! deliveries are acknowledged, delayed, dead-lettered or requeued.

use lapin::{
    BasicProperties,
    message::Delivery,
    options::{BasicAckOptions, BasicNackOptions},
    types::{AMQPValue, FieldTable, ShortString},
};

use super::{
    Publisher, Topology,
    topology::{CITA_DLX, RetryTier},
};

/// Header that carries why a message was dead-lettered by a worker.
pub const REASON_HEADER: &str = "x-cita-reason";

/// A handler's decision about its delivery, carried out by the consumer.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// Done (its effects are committed), or nothing to do.
    Ack,
    /// Try again after the tier's delay: the message (with `body` instead of its own, and
    /// `headers` added, when given) goes to the tier's queue, which returns it to the work
    /// queue; then the original is acknowledged.
    Later {
        tier: RetryTier,
        body: Option<Vec<u8>>,
        headers: Vec<(&'static str, AMQPValue)>,
    },
    /// It can never be handled: a copy goes to `<queue>.dead` with the reason, then the
    /// original is acknowledged.
    DeadLetter(String),
    /// Back to the queue now: an outage outlasted the handler's patience, or the process
    /// is stopping.
    Requeue,
}

impl Settlement {
    /// [`Settlement::Later`] with the message as it came.
    pub fn later(tier: RetryTier) -> Self {
        Settlement::Later {
            tier,
            body: None,
            headers: Vec::new(),
        }
    }

    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Settlement::Ack => "ack",
            Settlement::Later { .. } => "later",
            Settlement::DeadLetter(_) => "dead_lettered",
            Settlement::Requeue => "requeued",
        }
    }
}

/// Carries out `settlement` for `delivery`, consumed from `queue` (unprefixed).
pub async fn apply(
    settlement: Settlement,
    delivery: &Delivery,
    queue: &str,
    publisher: &Publisher,
    topology: &Topology,
) {
    let settled = match settlement {
        Settlement::Ack => ack(delivery).await,
        Settlement::Requeue => requeue(delivery).await,
        Settlement::Later {
            tier,
            body,
            headers,
        } => {
            let properties = with_headers(&delivery.properties, headers);
            let body = body.as_deref().unwrap_or(&delivery.data);
            match publisher
                .publish("", &topology.name(tier.queue), body, properties)
                .await
            {
                Ok(()) => ack(delivery).await,
                Err(error) => {
                    tracing::warn!(%error, queue, "cannot schedule a retry; requeueing the message");
                    requeue(delivery).await
                }
            }
        }
        Settlement::DeadLetter(reason) => {
            tracing::warn!(queue, %reason, "message dead-lettered");
            let properties = with_headers(
                &delivery.properties,
                vec![(REASON_HEADER, AMQPValue::LongString(reason.into()))],
            );
            match publisher
                .publish(&topology.name(CITA_DLX), queue, &delivery.data, properties)
                .await
            {
                Ok(()) => ack(delivery).await,
                Err(error) => {
                    // The queue dead-letters a rejected message itself, without the reason.
                    tracing::warn!(%error, queue, "cannot copy a message to its dead queue; rejecting it instead");
                    delivery
                        .nack(BasicNackOptions {
                            requeue: false,
                            ..Default::default()
                        })
                        .await
                        .map(drop)
                }
            }
        }
    };
    if let Err(error) = settled {
        tracing::warn!(%error, queue, "cannot settle a delivery; it will be redelivered");
    }
}

async fn ack(delivery: &Delivery) -> Result<(), lapin::Error> {
    delivery.ack(BasicAckOptions::default()).await.map(drop)
}

async fn requeue(delivery: &Delivery) -> Result<(), lapin::Error> {
    delivery
        .nack(BasicNackOptions {
            requeue: true,
            ..Default::default()
        })
        .await
        .map(drop)
}

fn with_headers(
    properties: &BasicProperties,
    added: Vec<(&'static str, AMQPValue)>,
) -> BasicProperties {
    if added.is_empty() {
        return properties.clone();
    }
    let mut headers: FieldTable = properties.headers().clone().unwrap_or_default();
    for (name, value) in added {
        headers.insert(ShortString::from(name), value);
    }
    properties.clone().with_headers(headers)
}

/// A numeric header of a delivery (a counter a handler keeps on the message), 0 if absent.
pub fn counter_header(delivery: &Delivery, name: &str) -> u32 {
    match delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(name))
    {
        Some(AMQPValue::LongUInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => (*n).max(0) as u32,
        Some(AMQPValue::LongLongInt(n)) => (*n).clamp(0, i64::from(u32::MAX)) as u32,
        _ => 0,
    }
}

/// A string header of a delivery (`x-request-id`, `traceparent`).
pub fn text_header(delivery: &Delivery, name: &str) -> Option<String> {
    match delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(name))
    {
        Some(AMQPValue::LongString(s)) => Some(s.to_string()),
        Some(AMQPValue::ShortString(s)) => Some(s.to_string()),
        _ => None,
    }
}
