//! Serves `scheduling.rpc`: each request is handled, answered on its `reply_to` with its
//! `correlation_id`, then acked. A request that can't be parsed is answered with
//! `invalid_request` and dead-lettered with the reason, never retried.

use std::sync::Arc;

use cita_shared::{
    amqp::{
        Publisher, Topology,
        topology::{CITA_DLX, SCHEDULING_RPC},
    },
    contracts::scheduling::{Reply, Request, SchedulingError},
};
use futures_lite::StreamExt;
use lapin::{
    BasicProperties, Channel, Connection,
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
        BasicPublishOptions, BasicQosOptions,
    },
    types::{AMQPValue, FieldTable},
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    metrics::{Metrics, RequestLabels},
    ops::Scheduler,
};

pub struct Server {
    pub scheduler: Arc<Scheduler>,
    /// Copies malformed requests to the dead-letter exchange with their reason.
    pub dead_letters: Arc<Publisher>,
    pub topology: Topology,
    /// Unacked requests at once; each is handled concurrently.
    pub prefetch: u16,
    pub metrics: Metrics,
}

impl Server {
    /// Consumes until `shutdown` (then cancels the consumer and finishes what it holds) or
    /// until the channel fails (returned, so the caller reconnects).
    pub async fn serve(
        self: &Arc<Self>,
        connection: &Connection,
        shutdown: &CancellationToken,
    ) -> Result<(), lapin::Error> {
        let channel = connection.create_channel().await?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await?;
        let mut consumer = channel
            .basic_consume(
                self.topology.name(SCHEDULING_RPC).as_str().into(),
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
                        let server = self.clone();
                        let channel = channel.clone();
                        in_flight.spawn(async move { server.handle(&channel, delivery).await });
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

    async fn handle(&self, channel: &Channel, delivery: Delivery) {
        let started = std::time::Instant::now();
        let (name, reply) = match serde_json::from_slice::<Request>(&delivery.data) {
            Ok(request) => (request.name(), self.scheduler.handle(request).await),
            Err(error) => {
                let reason = error.to_string();
                tracing::warn!(%reason, "malformed scheduling request, dead-lettered");
                self.dead_letter(&delivery, &reason).await;
                (
                    "malformed",
                    Reply::Error(SchedulingError::InvalidRequest { reason }),
                )
            }
        };
        let outcome = match &reply {
            Reply::Ok(_) => "ok",
            Reply::Error(error) => error.code(),
        };
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                request: name,
                outcome,
            })
            .inc();
        self.metrics
            .request_seconds
            .observe(started.elapsed().as_secs_f64());
        if let Some(reply_to) = delivery.properties.reply_to() {
            let mut properties =
                BasicProperties::default().with_content_type("application/json".into());
            if let Some(id) = delivery.properties.correlation_id() {
                properties = properties.with_correlation_id(id.clone());
            }
            let body = match serde_json::to_vec(&reply) {
                Ok(body) => body,
                Err(error) => {
                    tracing::error!(%error, "cannot encode a scheduling reply");
                    return;
                }
            };
            // Replies are at-most-once by design (direct reply-to): no confirm to wait for.
            if let Err(error) = channel
                .basic_publish(
                    "".into(),
                    reply_to.clone(),
                    BasicPublishOptions::default(),
                    &body,
                    properties,
                )
                .await
            {
                tracing::warn!(%error, "cannot send a scheduling reply; the request will be redelivered");
                return;
            }
        }
        if let Err(error) = delivery.ack(BasicAckOptions::default()).await {
            tracing::warn!(%error, "cannot ack a scheduling request; it will be redelivered");
        }
    }

    /// Puts a copy in `scheduling.rpc.dead` with the reason in `x-cita-reason`; if that
    /// fails, rejects the original, which the queue dead-letters without the reason.
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert("x-cita-reason".into(), AMQPValue::LongString(reason.into()));
        let properties = delivery.properties.clone().with_headers(headers);
        let copied = self
            .dead_letters
            .publish(
                &self.topology.name(CITA_DLX),
                SCHEDULING_RPC,
                &delivery.data,
                properties,
            )
            .await;
        if let Err(error) = copied {
            tracing::warn!(%error, "cannot copy a malformed request to its dead queue; rejecting it instead");
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: false,
                    ..Default::default()
                })
                .await;
        }
    }
}
