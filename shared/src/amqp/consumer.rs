//! Consuming a work queue, the same way in every worker: a supervisor that connects,
//! consumes with a prefetch, runs each delivery's handler concurrently, and reconnects
//! with backoff when the connection fails. Handlers ack or reject their own deliveries,
//! after their effects are committed.

use std::{future::Future, sync::Arc, time::Duration};

use futures_lite::StreamExt;
use lapin::{
    Channel, Connection,
    message::Delivery,
    options::{BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions},
    types::{AMQPValue, FieldTable},
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Publisher, Topology, connection, topology::CITA_DLX};
use crate::{admin::HealthFlag, secret::Secret};

/// Header that carries why a message was dead-lettered by a worker.
pub const REASON_HEADER: &str = "x-cita-reason";

pub trait Handler: Send + Sync + 'static {
    /// Called on the consuming task, in delivery order; the returned future is then run
    /// concurrently with the others. Whatever a handler does before returning its future
    /// therefore happens in delivery order.
    fn handle(
        self: &Arc<Self>,
        channel: &Channel,
        delivery: Delivery,
    ) -> impl Future<Output = ()> + Send + 'static;
}

/// Where and how to consume.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    pub url: Secret,
    pub topology: Topology,
    /// The queue's unprefixed name.
    pub queue: &'static str,
    /// Unacked deliveries at once, which is also how many are handled concurrently.
    pub prefetch: u16,
    /// Shown in the broker's management UI.
    pub connection_name: String,
}

/// Consumes until `shutdown`, reconnecting with backoff. Consuming starts only once
/// `wait_for` is set (workers wait for their publisher: what they consume, they publish
/// on). `ready` reflects whether a consumer is attached. On shutdown the consumer is
/// cancelled and the deliveries in hand are finished.
pub async fn run<H: Handler>(
    options: &ConsumerOptions,
    handler: Arc<H>,
    wait_for: &HealthFlag,
    ready: HealthFlag,
    shutdown: &CancellationToken,
) {
    while !wait_for.get() {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
            () = shutdown.cancelled() => return,
        }
    }
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        let connected = tokio::select! {
            connected = connection::connect(&options.url, &options.connection_name, &options.topology) => connected,
            () = shutdown.cancelled() => break,
        };
        match connected {
            Ok(connection) => {
                backoff = Duration::from_millis(100);
                ready.set(true);
                tracing::info!(
                    queue = options.queue,
                    prefetch = options.prefetch,
                    "consuming"
                );
                let consumed = consume(options, &connection, &handler, shutdown).await;
                ready.set(false);
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    connection.close(200, "bye".into()),
                )
                .await;
                match consumed {
                    Ok(()) => continue,
                    Err(error) => {
                        tracing::warn!(%error, queue = options.queue, "consumer failed; reconnecting")
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "cannot connect to the broker")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.cancelled() => break,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Consumes on one channel until `shutdown` or until the channel fails (returned).
async fn consume<H: Handler>(
    options: &ConsumerOptions,
    connection: &Connection,
    handler: &Arc<H>,
    shutdown: &CancellationToken,
) -> Result<(), lapin::Error> {
    let channel = connection.create_channel().await?;
    channel
        .basic_qos(options.prefetch, BasicQosOptions::default())
        .await?;
    let mut consumer = channel
        .basic_consume(
            options.topology.name(options.queue).as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut in_flight = JoinSet::new();
    let ended = loop {
        tokio::select! {
            delivery = consumer.next() => match delivery {
                Some(Ok(delivery)) => {
                    in_flight.spawn(handler.handle(&channel, delivery));
                }
                Some(Err(error)) => break Err(error),
                None => break Ok(()),
            },
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            () = shutdown.cancelled() => {
                let _ = channel.basic_cancel(consumer.tag(), BasicCancelOptions::default()).await;
                break Ok(());
            }
        }
    };
    while in_flight.join_next().await.is_some() {}
    if ended.is_ok() {
        let _ = channel.close(200, "bye".into()).await;
    }
    ended
}

/// Puts a copy of `delivery` in `<work_queue>.dead` with `reason` in [`REASON_HEADER`];
/// if that fails, rejects the original, which the queue dead-letters without the reason.
/// The caller acks the original after a successful copy.
pub async fn dead_letter(
    publisher: &Publisher,
    topology: &Topology,
    work_queue: &str,
    delivery: &Delivery,
    reason: &str,
) -> DeadLettered {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert(REASON_HEADER.into(), AMQPValue::LongString(reason.into()));
    let properties = delivery.properties.clone().with_headers(headers);
    let copied = publisher
        .publish(
            &topology.name(CITA_DLX),
            work_queue,
            &delivery.data,
            properties,
        )
        .await;
    match copied {
        Ok(()) => DeadLettered::Copied,
        Err(error) => {
            tracing::warn!(%error, "cannot copy a message to its dead queue; rejecting it instead");
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: false,
                    ..Default::default()
                })
                .await;
            DeadLettered::Rejected
        }
    }
}

/// How [`dead_letter`] disposed of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLettered {
    /// Copied with its reason: ack the original.
    Copied,
    /// Rejected, so already settled: do not ack it.
    Rejected,
}

/// Runs `attempt` until it succeeds, backing off from 100 ms to 5 s, for at most
/// `patience`; `None` if it still fails then (the caller requeues the delivery). An
/// outage of the database or broker is waited out in place: requeueing at once would
/// spin the delivery through the queue's delivery limit and dead-letter good work.
/// `what` names the work in the logs.
pub async fn patiently<T, E, F>(
    patience: Duration,
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> Option<T>
where
    E: std::fmt::Display,
    F: Future<Output = Result<T, E>>,
{
    let mut pause = Duration::from_millis(100);
    let started = tokio::time::Instant::now();
    loop {
        match attempt().await {
            Ok(done) => return Some(done),
            Err(error) if started.elapsed() < patience => {
                tracing::warn!(%error, what, "failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(error) => {
                tracing::warn!(%error, what, "failed; requeueing it");
                return None;
            }
        }
    }
}

/// [`dead_letter`], then the original acknowledged if the copy was made: the delivery
/// is settled either way.
pub async fn dead_letter_and_ack(
    publisher: &Publisher,
    topology: &Topology,
    work_queue: &str,
    delivery: &Delivery,
    reason: &str,
) {
    if dead_letter(publisher, topology, work_queue, delivery, reason).await == DeadLettered::Copied
    {
        let _ = delivery
            .ack(lapin::options::BasicAckOptions::default())
            .await;
    }
}
