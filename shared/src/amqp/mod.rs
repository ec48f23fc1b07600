//! RabbitMQ: the topology every binary declares, and a publisher that only reports
//! success once the broker has confirmed a persistent, routed message.

mod publisher;
pub mod topology;

pub use publisher::{PublishError, Publisher, PublisherOptions};
pub use topology::Topology;
