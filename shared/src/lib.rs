//! What every Cita binary links.
//!
//! - [`config`]: layered settings (`CITA_*`), validated at start;
//! - [`contracts`]: the serde types of every message that crosses a queue;
//! - [`secret`]: a string type that never prints its value;
//! - [`crypto`]: AES-256-GCM sealing of secrets at rest, with rotating keys;
//! - [`spanish`]: dates, times and prices as people read them, notice texts and templates;
//! - [`telemetry`]: tracing setup, text or JSON;
//! - [`shutdown`]: the cancellation token fired by SIGTERM / Ctrl-C;
//! - [`db`]: the PostgreSQL pool and the migration runner;
//! - [`amqp`]: the broker topology, the confirmed, reconnecting publisher, consumers;
//! - [`outbox`]: domain events written with the change, relayed after commit;
//! - [`http`]: the hyper accept loop with graceful drain;
//! - [`admin`]: `/healthz`, `/readyz`, `/metrics` on each binary's admin port;
//! - [`whatsapp`]: Meta's webhook payloads, parsed item by item, and phone identities.

pub mod admin;
pub mod amqp;
pub mod config;
pub mod contracts;
pub mod crypto;
pub mod db;
pub mod http;
pub mod outbox;
pub mod secret;
pub mod shutdown;
pub mod spanish;
pub mod telemetry;
pub mod whatsapp;

#[cfg(feature = "testing")]
pub mod testing;
