//! `cita-scheduling`: every read of free time and every write to appointments.
//!
//! - [`engine`]: the pure availability computation (zoned, daylight-saving correct);
//! - [`cache`]: availability in Redis, invalidated by a per-organization version;
//! - [`calendar`]: loads the engine's inputs from PostgreSQL and runs it;
//! - [`authz`]: who the actor is according to the database, and what they may do;
//! - [`ops`]: the operations, one transaction each, idempotent when they write;
//! - [`store`]: appointment rows, the outbox and remembered command results;
//! - [`error`]: refusals for the caller versus failures of ours;
//! - [`rpc`]: the `scheduling.rpc` consumer that answers requests;
//! - [`payments`]: Mercado Pago's notifications, re-fetched and settled against deposits;
//! - [`metrics`]: requests by type and outcome, their duration, events relayed;
//! - [`serve`]: the service as `main` runs it.

pub mod authz;
pub mod cache;
pub mod calendar;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod ops;
pub mod payments;
pub mod rpc;
mod serve;
pub mod store;

pub use serve::serve;
