//! RabbitMQ: the topology every binary declares, a publisher that only reports success
//! once the broker has confirmed a persistent, routed message, and request/reply.

pub mod connection;
pub mod consumer;
mod publisher;
pub mod replay;
pub mod rpc;
pub mod settle;
pub mod topology;

pub use crate::error::PublishError;
pub use consumer::{ConsumerOptions, Handler, Links};
pub use publisher::{Publisher, PublisherOptions};
pub use settle::Settlement;
pub use topology::Topology;

use lapin::{BasicProperties, Channel, Confirmation, options::BasicPublishOptions};

/// Publishes with the mandatory flag and waits for the broker's confirm (the channel is in
/// confirm mode): `Ack(None)` is routed and taken, `Ack(Some(_))` came back unroutable.
pub async fn publish_confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<Confirmation, lapin::Error> {
    let options = BasicPublishOptions {
        mandatory: true,
        immediate: false,
    };
    channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            options,
            body,
            properties,
        )
        .await?
        .await
}
