//! Serves `scheduling.rpc`: each request is handled, answered on its `reply_to` with its
//! `correlation_id`, then acked. A request that can't be parsed is answered with
//! `invalid_request` and dead-lettered with the reason, never retried.

use std::{future::Future, sync::Arc};

use cita_shared::{
    amqp::{
        Publisher, Topology,
        consumer::{self, DeadLettered, Handler},
        topology::SCHEDULING_RPC,
    },
    contracts::scheduling::{Reply, Request, SchedulingError},
};
use lapin::{
    BasicProperties, Channel,
    message::Delivery,
    options::{BasicAckOptions, BasicPublishOptions},
};

use crate::{
    metrics::{Metrics, RequestLabels},
    ops::Scheduler,
};

pub struct Server {
    pub scheduler: Arc<Scheduler>,
    /// Copies malformed requests to the dead-letter exchange with their reason.
    pub dead_letters: Arc<Publisher>,
    pub topology: Topology,
    pub metrics: Metrics,
}

impl Handler for Server {
    fn handle(
        self: &Arc<Self>,
        channel: &Channel,
        delivery: Delivery,
    ) -> impl Future<Output = ()> + Send + 'static {
        let server = self.clone();
        let channel = channel.clone();
        async move { server.answer(&channel, delivery).await }
    }
}

impl Server {
    async fn answer(&self, channel: &Channel, delivery: Delivery) {
        let started = std::time::Instant::now();
        let (name, reply) = match serde_json::from_slice::<Request>(&delivery.data) {
            Ok(request) => (request.name(), self.scheduler.handle(request).await),
            Err(error) => {
                let reason = error.to_string();
                tracing::warn!(%reason, "malformed scheduling request, dead-lettered");
                if consumer::dead_letter(
                    &self.dead_letters,
                    &self.topology,
                    SCHEDULING_RPC,
                    &delivery,
                    &reason,
                )
                .await
                    == DeadLettered::Rejected
                {
                    // Settled by the rejection; there is no one to answer either way.
                    return;
                }
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
}
