//! The small HTTP server every binary runs on `CITA_ADMIN_ADDR`:
//! `/healthz` (the process is alive), `/readyz` (its dependencies are reachable; 503 names
//! the ones that are not) and `/metrics` (Prometheus text).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use hyper::{Method, Request, StatusCode, body::Incoming};
use prometheus_client::registry::Registry;
use tokio::{net::TcpListener, sync::watch};
use tokio_util::sync::CancellationToken;

use crate::http::{self, Body, text};

/// Readiness of the process: one flag per dependency, set by whoever owns the connection.
#[derive(Clone, Default)]
pub struct Health {
    // A std Mutex: registration happens at start, reads are a short scan, never across
    // an await.
    checks: Arc<Mutex<Vec<(&'static str, HealthFlag)>>>,
}

/// The readiness of one dependency; starts not ready. Whoever depends on it can wait for
/// it ([`HealthFlag::ready`]) instead of polling.
#[derive(Clone)]
pub struct HealthFlag(Arc<watch::Sender<bool>>);

impl Default for HealthFlag {
    fn default() -> Self {
        HealthFlag(Arc::new(watch::Sender::new(false)))
    }
}

impl HealthFlag {
    pub fn set(&self, ready: bool) {
        self.0.send_replace(ready);
    }

    pub fn get(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the dependency is ready (at once if it is).
    pub async fn ready(&self) {
        let mut changes = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = changes.wait_for(|ready| *ready).await;
    }
}

impl Health {
    pub fn register(&self, name: &'static str) -> HealthFlag {
        let flag = HealthFlag::default();
        self.checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name, flag.clone()));
        flag
    }

    /// The names of the dependencies that are not ready.
    pub fn not_ready(&self) -> Vec<&'static str> {
        self.checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, flag)| !flag.get())
            .map(|(name, _)| *name)
            .collect()
    }
}

/// Serves the admin endpoints until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    health: Health,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
) {
    let handler = move |request: Request<Incoming>| {
        let response = respond(&request, &health, &registry);
        async move { response }
    };
    http::serve(listener, handler, shutdown, Duration::from_secs(1)).await;
}

fn respond(
    request: &Request<Incoming>,
    health: &Health,
    registry: &Registry,
) -> hyper::Response<Body> {
    if request.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    match request.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => {
            let missing = health.not_ready();
            if missing.is_empty() {
                text(StatusCode::OK, "ready\n")
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not ready: {}\n", missing.join(", ")),
                )
            }
        }
        "/metrics" => {
            let mut body = String::new();
            match prometheus_client::encoding::text::encode(&mut body, registry) {
                Ok(()) => {
                    let mut response = text(StatusCode::OK, body);
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static(
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        ),
                    );
                    response
                }
                Err(error) => {
                    tracing::error!(%error, "cannot encode metrics");
                    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
                }
            }
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}
