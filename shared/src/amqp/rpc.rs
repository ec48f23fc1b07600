//! Request/reply over RabbitMQ with direct reply-to: the client publishes a request with
//! `reply_to = amq.rabbitmq.reply-to` and a correlation id, and waits (bounded) for the
//! reply on the same channel.
//!
//! Direct replies are at-most-once: a reply to a client that went away is lost, so every
//! call has a timeout, and requests that write carry idempotency keys so a caller can
//! safely ask again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures_lite::StreamExt;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection,
    options::{BasicConsumeOptions, ConfirmSelectOptions},
    types::FieldTable,
};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::{Mutex as AsyncMutex, oneshot};
use uuid::Uuid;

use super::{Topology, connection::ConnectError, topology::CITA_COMMANDS};
use crate::tls::Endpoint;

const REPLY_TO: &str = "amq.rabbitmq.reply-to";

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the broker")]
    Connect(#[from] ConnectError),
    #[error("the broker failed the request")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not take the request (nack or no queue)")]
    NotDelivered,
    #[error("the request could not be encoded")]
    Encode(#[source] serde_json::Error),
    #[error("the reply could not be decoded")]
    Decode(#[source] serde_json::Error),
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Vec<u8>>>>>;

/// One connection and channel, with the reply consumer running on it.
struct Session {
    _connection: Connection,
    channel: Channel,
    pending: Pending,
}

/// A client for one command queue (`scheduling.rpc`, say). Connects lazily, and again
/// after a failure.
pub struct RpcClient {
    url: Endpoint,
    name: String,
    topology: Topology,
    routing_key: String,
    session: AsyncMutex<Option<Arc<Session>>>,
}

impl RpcClient {
    pub fn new(
        url: impl Into<Endpoint>,
        name: impl Into<String>,
        topology: Topology,
        routing_key: impl Into<String>,
    ) -> Self {
        RpcClient {
            url: url.into(),
            name: name.into(),
            topology,
            routing_key: routing_key.into(),
            session: AsyncMutex::new(None),
        }
    }

    /// Sends `request` and waits at most `timeout` for the reply.
    pub async fn call<Req: Serialize, Rep: DeserializeOwned>(
        &self,
        request: &Req,
        timeout: Duration,
    ) -> Result<Rep, RpcError> {
        let body = serde_json::to_vec(request).map_err(RpcError::Encode)?;
        let session = self.session().await?;
        let correlation_id = Uuid::new_v4().to_string();
        let (sender, receiver) = oneshot::channel();
        session
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(correlation_id.clone(), sender);

        let outcome = tokio::time::timeout(timeout, async {
            let properties = super::publisher::with_trace(
                BasicProperties::default()
                    .with_reply_to(REPLY_TO.into())
                    .with_correlation_id(correlation_id.as_str().into())
                    .with_content_type("application/json".into()),
            );
            let confirmation = super::publish_confirmed(
                &session.channel,
                &self.topology.name(CITA_COMMANDS),
                &self.routing_key,
                &body,
                properties,
            )
            .await?;
            if confirmation != Confirmation::Ack(None) {
                return Err(RpcError::NotDelivered);
            }
            // The sender is dropped only with the session: treat that as a broker failure.
            receiver.await.map_err(|_| RpcError::NotDelivered)
        })
        .await;
        session
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&correlation_id);

        match outcome {
            Ok(Ok(reply)) => serde_json::from_slice(&reply).map_err(RpcError::Decode),
            Ok(Err(error)) => {
                if matches!(error, RpcError::Broker(_)) {
                    self.forget(&session).await;
                }
                Err(error)
            }
            Err(_) => Err(RpcError::Timeout(timeout)),
        }
    }

    async fn session(&self) -> Result<Arc<Session>, RpcError> {
        let mut current = self.session.lock().await;
        if let Some(session) = current.as_ref().filter(|s| s.channel.status().connected()) {
            return Ok(session.clone());
        }
        let connection = super::connection::connect(&self.url, &self.name, &self.topology).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        // Direct reply-to requires consuming with no_ack on the publishing channel.
        let mut replies = channel
            .basic_consume(
                REPLY_TO.into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let pending: Pending = Arc::default();
        let routing = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(delivery)) = replies.next().await {
                let Some(id) = delivery
                    .properties
                    .correlation_id()
                    .as_ref()
                    .map(|id| id.to_string())
                else {
                    continue;
                };
                // A reply whose caller timed out has no waiter any more: dropped.
                if let Some(waiter) = routing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id)
                {
                    let _ = waiter.send(delivery.data);
                }
            }
            // The channel is gone: wake every waiter with an error.
            routing.lock().unwrap_or_else(|e| e.into_inner()).clear();
        });
        let session = Arc::new(Session {
            _connection: connection,
            channel,
            pending,
        });
        *current = Some(session.clone());
        Ok(session)
    }

    async fn forget(&self, failed: &Arc<Session>) {
        let mut current = self.session.lock().await;
        if current.as_ref().is_some_and(|s| Arc::ptr_eq(s, failed)) {
            *current = None;
        }
    }
}
