use lapin::{
    Channel, Connection, ConnectionProperties,
    message::BasicGetMessage,
    options::{
        BasicAckOptions, BasicGetOptions, ExchangeDeleteOptions, QueueDeclareOptions,
        QueueDeleteOptions,
    },
    types::FieldTable,
};

use crate::amqp::Topology;

/// A name prefix of its own for one test on the shared local broker. Its exchanges and
/// queues are deleted when the value is dropped.
pub struct TestBroker {
    pub url: String,
    pub prefix: String,
    pub topology: Topology,
    /// Keeps `channel`'s connection open for the test's lifetime.
    _connection: Connection,
    pub channel: Channel,
}

impl TestBroker {
    pub async fn new() -> Self {
        let url = std::env::var("CITA_AMQP_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
        let prefix = format!("test.{}.", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let connection = Connection::connect(&url, ConnectionProperties::default())
            .await
            .expect("connect to RabbitMQ");
        let channel = connection.create_channel().await.expect("open a channel");
        TestBroker {
            url,
            topology: Topology::new(&prefix),
            prefix,
            _connection: connection,
            channel,
        }
    }

    /// Declares the whole topology under this prefix.
    pub async fn declare(&self) {
        self.topology
            .declare(&self.channel)
            .await
            .expect("declare the topology");
    }

    /// The number of ready messages in the queue `base` (unprefixed name).
    pub async fn count(&self, base: &str) -> u32 {
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        self.channel
            .queue_declare(
                self.topology.name(base).as_str().into(),
                passive,
                FieldTable::default(),
            )
            .await
            .expect("queue exists")
            .message_count()
    }

    /// A queue of the test's own that receives a copy of every message published to
    /// `exchange` (unprefixed) with `routing_key`: what a worker sent, seen without
    /// taking it from the worker that consumes it. Deleted with the test's connection.
    pub async fn tap(&self, exchange: &str, routing_key: &str) -> Tap {
        let queue = self.topology.name(&format!("tap.{routing_key}"));
        self.channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    exclusive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("declare a tap");
        self.channel
            .queue_bind(
                queue.as_str().into(),
                self.topology.name(exchange).as_str().into(),
                routing_key.into(),
                lapin::options::QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind a tap");
        Tap { queue }
    }

    /// Takes every message a tap holds, acking each.
    pub async fn drain_tap(&self, tap: &Tap) -> Vec<BasicGetMessage> {
        self.take_all(&tap.queue).await
    }

    /// Takes every message from the queue `base`, acking each.
    pub async fn drain(&self, base: &str) -> Vec<BasicGetMessage> {
        self.take_all(&self.topology.name(base)).await
    }

    async fn take_all(&self, queue: &str) -> Vec<BasicGetMessage> {
        let mut messages = Vec::new();
        while let Some(message) = self
            .channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .expect("basic.get")
        {
            message.ack(BasicAckOptions::default()).await.expect("ack");
            messages.push(message);
        }
        messages
    }
}

/// See [`TestBroker::tap`].
pub struct Tap {
    queue: String,
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let url = self.url.clone();
        let topology = self.topology.clone();
        super::run_detached(async move {
            let Ok(connection) = Connection::connect(&url, ConnectionProperties::default()).await
            else {
                return;
            };
            for queue in topology.queues() {
                // Each failed delete closes the channel, so each gets a fresh one.
                if let Ok(channel) = connection.create_channel().await {
                    let _ = channel
                        .queue_delete(queue.name.as_str().into(), QueueDeleteOptions::default())
                        .await;
                }
            }
            for exchange in topology.exchanges() {
                if let Ok(channel) = connection.create_channel().await {
                    let _ = channel
                        .exchange_delete(
                            exchange.name.as_str().into(),
                            ExchangeDeleteOptions::default(),
                        )
                        .await;
                }
            }
            let _ = connection.close(200, "test done".into()).await;
        });
    }
}
