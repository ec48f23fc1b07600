//! What every Cita binary links.
//!
//! - [`cli`]: `--version`, settings checked before anything binds, the admin port;
//! - [`config`]: layered settings (`CITA_*`), validated at start;
//! - [`error`]: the infrastructure error every layer shares, and its classification;
//! - [`clock`]: the injected current time;
//! - [`retry`]: waiting out an outage in place;
//! - [`runtime`]: one runtime for every worker (pool, publisher, consumers, admin port);
//! - [`metrics`]: build, process, pool and broker metrics every binary exports;
//! - [`contracts`]: the serde types of every message that crosses a queue;
//! - [`secret`]: a string type that never prints its value;
//! - [`customers`]: finding and creating customers, under one phone-matching rule;
//! - [`crypto`]: AES-256-GCM sealing of secrets at rest, with rotating keys;
//! - [`spanish`]: dates, times and prices as people read them, notice texts and templates;
//! - [`telemetry`]: tracing setup, text or JSON;
//! - [`trace`]: the W3C `traceparent` that follows one piece of work across the fleet;
//! - [`shutdown`]: the cancellation token fired by SIGTERM / Ctrl-C;
//! - [`tls`]: the roots TLS connections trust, a URL with its roots ([`tls::Endpoint`]);
//! - [`db`]: the PostgreSQL pool and the migration runner;
//! - [`amqp`]: the broker topology, the confirmed, reconnecting publisher, consumers;
//! - [`retention`]: pruning what is past its age, in small batches;
//! - [`redis`]: the one way to open Redis;
//! - [`outbox`]: domain events written with the change, relayed after commit;
//! - [`http`]: the hyper accept loop with graceful drain;
//! - [`admin`]: `/healthz`, `/readyz`, `/metrics` on each binary's admin port;
//! - [`whatsapp`]: Meta's webhook payloads, parsed item by item, and phone identities.
//! - [`payments`]: Mercado Pago's notification signature.

pub mod admin;
pub mod amqp;
pub mod cli;
pub mod clock;
pub mod config;
pub mod contracts;
pub mod crypto;
pub mod customers;
pub mod db;
pub mod error;
pub mod http;
pub mod metrics;
pub mod outbox;
pub mod payments;
pub mod redis;
pub mod retention;
pub mod retry;
pub mod runtime;
pub mod secret;
pub mod shutdown;
pub mod spanish;
pub mod telemetry;
pub mod tls;
pub mod trace;
pub mod typed;
pub mod whatsapp;

#[cfg(feature = "testing")]
pub mod testing;
