//! Consuming a work queue, the same way in every worker: a supervisor that connects,
//! consumes with a prefetch, runs each delivery's handler concurrently, and reconnects
//! with backoff when the connection fails.
//!
//! A handler only decides: it returns a [`Settlement`] (or an error), and the consumer
//! carries it out after the handler's effects are committed. Errors are classified once
//! ([`Classify`]): a transient one is tried again in place with backoff for the queue's
//! patience, then the message goes back to the queue; a permanent one dead-letters the
//! message with the error's causes as the reason.
//!
//! On shutdown the consumer is cancelled and the deliveries in hand get
//! `CITA_SHUTDOWN_TIMEOUT_MS` to finish; what is still running then is dropped unacked,
//! and the broker redelivers it to the next process.

use std::{future::Future, sync::Arc, time::Duration};

use futures_lite::StreamExt;
use lapin::{
    Channel, Connection,
    message::Delivery,
    options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, QueueDeclareOptions},
    types::FieldTable,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{
    Publisher, Topology, connection,
    settle::{self, Settlement},
    topology::dead_name,
};
use crate::{
    admin::HealthFlag,
    error::{Chain, Classify},
    metrics::{AmqpMetrics, QueueLabels},
    retry::{self, GaveUp},
    tls::Endpoint,
    trace::Trace,
};

pub use settle::REASON_HEADER;

/// How a worker handles the deliveries of one queue.
pub trait Handler: Send + Sync + 'static {
    /// The handler's failures, classified once by the consumer.
    type Error: Classify;
    /// What is taken on the consuming task, in delivery order, before the delivery is
    /// handled concurrently with the others (outbound takes its recipient's place in
    /// line here). `()` for handlers that need no order.
    type Admission: Send + Sync + 'static;

    fn admit(&self, delivery: &Delivery) -> Self::Admission;

    /// One try at the delivery. `channel` is the one it came on (an RPC server answers
    /// on it). Tried again after a transient error, so it must be safe to repeat.
    fn attempt(
        &self,
        delivery: &Delivery,
        admission: &Self::Admission,
        channel: &Channel,
    ) -> impl Future<Output = Result<Settlement, Self::Error>> + Send;
}

/// Where and how to consume.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    pub url: Endpoint,
    pub topology: Topology,
    /// The queue's unprefixed name.
    pub queue: &'static str,
    /// Unacked deliveries at once, which is also how many are handled concurrently.
    pub prefetch: u16,
    /// Shown in the broker's management UI.
    pub connection_name: String,
    /// How long a transient failure is retried in place before the message is requeued:
    /// requeueing at once would spin it through the queue's delivery limit and
    /// dead-letter good work during an outage.
    pub patience: Duration,
    /// How long deliveries in hand may take to finish once shutdown is requested.
    pub drain_timeout: Duration,
}

/// What every delivery's settlement needs: the publisher (dead-letter copies, delayed
/// retries) and the broker metrics.
#[derive(Clone)]
pub struct Links {
    pub publisher: Arc<Publisher>,
    pub metrics: AmqpMetrics,
}

/// How often the depth of the consumed queue and its dead queue is read.
const DEPTH_EVERY: Duration = Duration::from_secs(5);

/// Consumes until `shutdown`, reconnecting with backoff. Consuming starts only once
/// `wait_for` is ready (workers wait for their publisher: what they consume, they
/// settle through it). `ready` reflects whether a consumer is attached.
pub async fn run<H: Handler>(
    options: &ConsumerOptions,
    handler: Arc<H>,
    links: &Links,
    wait_for: &HealthFlag,
    ready: HealthFlag,
    shutdown: &CancellationToken,
) {
    tokio::select! {
        () = wait_for.ready() => {}
        () = shutdown.cancelled() => return,
    }
    let reconnects = links
        .metrics
        .reconnects(&format!("consumer:{}", options.queue));
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    while !shutdown.is_cancelled() {
        let connected = tokio::select! {
            connected = connection::connect(&options.url, &options.connection_name, &options.topology) => connected,
            () = shutdown.cancelled() => break,
        };
        match connected {
            Ok(connection) => {
                if connected_before {
                    reconnects.inc();
                }
                connected_before = true;
                backoff = Duration::from_millis(100);
                ready.set(true);
                tracing::info!(
                    queue = options.queue,
                    prefetch = options.prefetch,
                    "consuming"
                );
                let consumed = consume(options, &connection, &handler, links, shutdown).await;
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
    links: &Links,
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
    let depth_stop = CancellationToken::new();
    let depth = tokio::spawn(watch_depth(
        connection.create_channel().await?,
        options.clone(),
        links.metrics.clone(),
        depth_stop.clone(),
    ));
    let lag = links
        .metrics
        .delivery_lag
        .get_or_create(&QueueLabels {
            queue: options.queue.to_owned(),
        })
        .clone();
    let mut in_flight = JoinSet::new();
    let ended = loop {
        tokio::select! {
            delivery = consumer.next() => match delivery {
                Some(Ok(delivery)) => {
                    if let Some(waited) = first_delivery_lag(&delivery) {
                        lag.observe(waited);
                    }
                    let admission = handler.admit(&delivery);
                    in_flight.spawn(handle(
                        handler.clone(),
                        delivery,
                        admission,
                        channel.clone(),
                        options.clone(),
                        links.clone(),
                        shutdown.clone(),
                    ));
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
    drain(&mut in_flight, options, shutdown).await;
    depth_stop.cancel();
    let _ = depth.await;
    if ended.is_ok() {
        let _ = channel.close(200, "bye".into()).await;
    }
    ended
}

/// Waits for the deliveries in hand; once shutdown is requested, for at most the drain
/// timeout. Whatever is still running then is dropped: its delivery was never acked, so
/// closing the channel returns it to the queue.
async fn drain(
    in_flight: &mut JoinSet<()>,
    options: &ConsumerOptions,
    shutdown: &CancellationToken,
) {
    tokio::select! {
        () = join_all(in_flight) => return,
        () = shutdown.cancelled() => {}
    }
    if tokio::time::timeout(options.drain_timeout, join_all(in_flight))
        .await
        .is_err()
    {
        tracing::warn!(
            queue = options.queue,
            abandoned = in_flight.len(),
            timeout = ?options.drain_timeout,
            "deliveries still running at shutdown are left unacked for redelivery"
        );
        in_flight.abort_all();
        join_all(in_flight).await;
    }
}

/// Cancel-safe: a task that finished stays finished if this is dropped half-way.
async fn join_all(in_flight: &mut JoinSet<()>) {
    while in_flight.join_next().await.is_some() {}
}

async fn handle<H: Handler>(
    handler: Arc<H>,
    delivery: Delivery,
    admission: H::Admission,
    channel: Channel,
    options: ConsumerOptions,
    links: Links,
    shutdown: CancellationToken,
) {
    // The work continues the trace of the message that caused it, or starts one.
    let trace = Trace::from_headers(delivery.properties.headers().as_ref())
        .map_or_else(|| Trace::start(uuid::Uuid::new_v4()), Trace::child);
    // At the error level so that it exists whatever the filter: every line of the work,
    // warnings included, carries its trace.
    let span = tracing::error_span!("work", queue = options.queue, trace = %trace.id());
    let what = format!("a message of {}", options.queue);
    let attempts = trace
        .scope(
            retry::patiently(options.patience, &shutdown, &what, || {
                handler.attempt(&delivery, &admission, &channel)
            })
            .instrument(span.clone()),
        )
        .await;

    let settlement = match attempts {
        Ok(settlement) => settlement,
        Err(GaveUp::Permanent(error)) => {
            let reason = Chain(&error).to_string();
            span.in_scope(
                || tracing::error!(error = %reason, "a message fails the same way every time"),
            );
            Settlement::DeadLetter(reason)
        }
        Err(GaveUp::Exhausted(_) | GaveUp::Stopped) => Settlement::Requeue,
    };
    settle::apply(
        settlement,
        &delivery,
        options.queue,
        &links.publisher,
        &options.topology,
    )
    .instrument(span)
    .await;
}

/// Seconds since the message was published, for its first delivery only: a message back
/// from a delay queue (`x-death`) waited on purpose.
fn first_delivery_lag(delivery: &Delivery) -> Option<f64> {
    let published = (*delivery.properties.timestamp())?;
    let delayed = delivery
        .properties
        .headers()
        .as_ref()
        .is_some_and(|h| h.inner().contains_key("x-death"));
    if delayed || delivery.redelivered {
        return None;
    }
    let now = jiff::Timestamp::now().as_second();
    Some((now - published as i64).max(0) as f64)
}

/// Reads the ready messages and consumers of the queue and its dead queue every few
/// seconds (a passive declare), for the depth and "consumer absent" alerts.
async fn watch_depth(
    channel: Channel,
    options: ConsumerOptions,
    metrics: AmqpMetrics,
    stop: CancellationToken,
) {
    let queues = [options.queue.to_owned(), dead_name(options.queue)];
    loop {
        for queue in &queues {
            let declared = channel
                .queue_declare(
                    options.topology.name(queue).as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await;
            match declared {
                Ok(state) => {
                    let labels = QueueLabels {
                        queue: queue.clone(),
                    };
                    metrics
                        .queue_messages
                        .get_or_create(&labels)
                        .set(i64::from(state.message_count()));
                    metrics
                        .queue_consumers
                        .get_or_create(&labels)
                        .set(i64::from(state.consumer_count()));
                }
                // The channel is closed with the connection; the next connection
                // watches again.
                Err(_) => return,
            }
        }
        tokio::select! {
            () = tokio::time::sleep(DEPTH_EVERY) => {}
            () = stop.cancelled() => return,
        }
    }
}
