//! RabbitMQ: the topology every binary declares, a publisher that only reports success
//! once the broker has confirmed a persistent, routed message, and request/reply.

pub mod connection;
pub mod consumer;
mod publisher;
pub mod replay;
pub mod rpc;
pub mod topology;

pub use publisher::{PublishError, Publisher, PublisherOptions};
pub use topology::Topology;
