//! Serves `scheduling.rpc`: each request is handled, answered on its `reply_to` with its
//! `correlation_id`, then acked. A request that can't be parsed is answered with
//! `invalid_request` and dead-lettered with the reason, never retried.

use std::sync::Arc;

use cita_shared::{
    amqp::{Handler, Settlement},
    contracts::scheduling::{Reply, Request, SchedulingError},
};
use lapin::{BasicProperties, Channel, message::Delivery, options::BasicPublishOptions};

use crate::{
    metrics::{Metrics, RequestLabels},
    ops::Scheduler,
};

pub struct Server {
    pub scheduler: Arc<Scheduler>,
    pub metrics: Metrics,
}

impl Handler for Server {
    /// Failures of ours are answered `unavailable`; nothing is left to classify.
    type Error = std::convert::Infallible;
    type Admission = ();

    fn admit(&self, _: &Delivery) {}

    async fn attempt(
        &self,
        delivery: &Delivery,
        (): &(),
        channel: &Channel,
    ) -> Result<Settlement, Self::Error> {
        let started = std::time::Instant::now();
        let (name, reply, settlement) = match serde_json::from_slice::<Request>(&delivery.data) {
            Ok(request) => (
                request.name(),
                self.scheduler.handle(request).await,
                Settlement::Ack,
            ),
            Err(error) => {
                let reason = error.to_string();
                (
                    "malformed",
                    Reply::Error(SchedulingError::InvalidRequest {
                        reason: reason.clone(),
                    }),
                    Settlement::DeadLetter(reason),
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
            let body = serde_json::to_vec(&reply).expect("a scheduling reply serializes to JSON");
            // Replies go on the channel the request came on, at most once by design
            // (direct reply-to): there is no confirm to wait for. A channel that can't
            // take the reply is gone, and the request with it: the broker redelivers it.
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
                return Ok(Settlement::Requeue);
            }
        }
        Ok(settlement)
    }
}
