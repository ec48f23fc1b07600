//! `cita-ingress`: the only door Meta and Mercado Pago knock on. It verifies their
//! signatures (`X-Hub-Signature-256`; `x-signature`), publishes the raw body to the
//! `wa.webhooks` (or `payments.webhooks`) exchange and answers 200 only after the broker
//! confirmed the message. It has no database and never parses the payload.
//!
//! - [`webhook`]: the GET handshake and the POST path, and the outcome of each request;
//! - [`mercadopago`]: Mercado Pago's payment notifications, on their own route and
//!   exchange (`x-signature` over the signed id, request id and timestamp);
//! - [`metrics`]: request outcomes, confirm latency, requests in flight.

pub mod mercadopago;
pub mod metrics;
pub mod webhook;

use std::{sync::Arc, time::Instant};

use cita_shared::{
    admin::{self, Health},
    amqp::{
        Publisher, PublisherOptions, Topology,
        topology::{PAYMENT_WEBHOOKS, WA_WEBHOOKS},
    },
    config::{ConfigError, Settings},
    http::{self, Body, Drain},
    metrics::AmqpMetrics,
    secret::Secret,
};
use hyper::{Method, Request, Response, body::Incoming};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{metrics::Metrics, webhook::Reply};

pub const WEBHOOK_PATH: &str = "/webhooks/whatsapp";
pub const MERCADOPAGO_PATH: &str = "/webhooks/mercadopago";

/// Publishing channels per broker connection. One: the broker confirms a channel's
/// publishes in batches (`multiple` acks), and a single channel gets the largest batches.
/// In `make bench` on 2 cores, one channel beat four by about 8 % in throughput and used
/// less CPU per message in both the ingress and the broker.
const PUBLISH_CHANNELS: usize = 1;

/// What the request handler needs from the configuration.
#[derive(Debug, Clone)]
pub struct IngressConfig {
    pub app_secrets: Vec<Secret>,
    pub verify_token: Secret,
    pub max_body_bytes: usize,
    /// The prefixed name of the `wa.webhooks` exchange.
    pub exchange: String,
    pub mercadopago: MercadoPagoConfig,
}

/// Mercado Pago's notifications; without secrets their route answers 404.
#[derive(Debug, Clone)]
pub struct MercadoPagoConfig {
    pub secrets: Vec<Secret>,
    pub tolerance: std::time::Duration,
    /// The prefixed name of the `payments.webhooks` exchange.
    pub exchange: String,
}

impl IngressConfig {
    /// Fails with the name of the first missing secret.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        Ok(IngressConfig {
            app_secrets: settings.require_meta_app_secrets()?.to_vec(),
            verify_token: settings.require_meta_verify_token()?.clone(),
            max_body_bytes: settings.max_body_bytes,
            exchange: Topology::new(&settings.amqp_prefix).name(WA_WEBHOOKS),
            mercadopago: MercadoPagoConfig {
                secrets: settings.payments.mercadopago_webhook_secrets.clone(),
                tolerance: settings.payments.signature_tolerance,
                exchange: Topology::new(&settings.amqp_prefix).name(PAYMENT_WEBHOOKS),
            },
        })
    }
}

pub struct Ingress {
    config: IngressConfig,
    publisher: Arc<Publisher>,
    metrics: Metrics,
}

/// Runs the ingress until `shutdown`: the webhook server on `listener`, the admin server
/// on `admin_listener`, and the broker connection. On shutdown it stops accepting, lets
/// in-flight requests get their confirms and answers (up to the shutdown timeout), then
/// closes the broker connection.
pub async fn serve(
    settings: &Settings,
    listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<Drain, ConfigError> {
    let config = IngressConfig::from_settings(settings)?;
    let mut registry = cita_shared::metrics::registry();
    let cita = registry.sub_registry_with_prefix("cita");
    let metrics = Metrics::register(cita);
    let amqp = AmqpMetrics::register(cita);
    let health = Health::default();
    let (publisher, supervisor) = Publisher::start(
        settings.amqp_url.clone(),
        Topology::new(&settings.amqp_prefix),
        PublisherOptions {
            connection_name: settings.component.name().into(),
            confirm_timeout: settings.publish_timeout,
            channels: PUBLISH_CHANNELS,
            reconnects: amqp.reconnects("publisher"),
        },
        health.register("amqp"),
    );
    let admin_stop = CancellationToken::new();
    let admin = tokio::spawn(admin::serve(
        admin_listener,
        health,
        Arc::new(registry),
        admin_stop.clone(),
    ));

    let ingress = Arc::new(Ingress {
        config,
        publisher: publisher.clone(),
        metrics,
    });
    let handler = move |request: Request<Incoming>| {
        let ingress = ingress.clone();
        async move { ingress.handle(request).await }
    };
    let drain = http::serve(listener, handler, shutdown, settings.shutdown_timeout).await;
    if drain == Drain::TimedOut {
        tracing::warn!("shutdown timeout reached with requests still in flight");
    }

    publisher.close();
    let _ = supervisor.await;
    admin_stop.cancel();
    let _ = admin.await;
    tracing::info!("ingress stopped");
    Ok(drain)
}

impl Ingress {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let request_id = Uuid::new_v4();
        self.metrics.in_flight.inc();
        let (parts, body) = request.into_parts();
        let method = parts.method.clone();

        let reply: Reply = if parts.uri.path() == MERCADOPAGO_PATH {
            if method == Method::POST {
                mercadopago::receive(self, parts, body, request_id).await
            } else {
                webhook::method_not_allowed()
            }
        } else if parts.uri.path() != WEBHOOK_PATH {
            webhook::not_found()
        } else if method == Method::GET {
            webhook::verify_subscription(self, &parts)
        } else if method == Method::POST {
            webhook::receive(self, parts, body, request_id).await
        } else {
            webhook::method_not_allowed()
        };

        self.metrics.in_flight.dec();
        let outcome = reply.outcome;
        self.metrics
            .requests
            .get_or_create(&metrics::OutcomeLabels {
                outcome: outcome.label(),
            })
            .inc();
        // One line per request. Never the body: it holds customers' messages and numbers.
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let status = reply.response.status().as_u16();
        match &reply.publish_error {
            Some(error) => tracing::warn!(
                %request_id, trace = %request_id.simple(), %method, status,
                outcome = outcome.label(), latency_ms, %error,
                "webhook not accepted: broker unavailable"
            ),
            None => tracing::info!(
                %request_id, trace = %request_id.simple(), %method, status,
                outcome = outcome.label(), latency_ms, "webhook request"
            ),
        }
        reply.response
    }
}
