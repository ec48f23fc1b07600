//! `cita-outbound`: the only process that calls Meta's Graph API. Everyone else
//! publishes a send command to `outbound.send`.
//!
//! - [`sender`]: one command from delivery to settlement (the rules live here), and
//!   [`deliver`]: a claimed send through Meta to its record;
//! - [`graph`]: the Graph API client and the one place errors are classified;
//! - [`payload`]: Graph API request bodies from send commands;
//! - [`ledger`]: the send ledger in PostgreSQL (idempotency, outcomes, events);
//! - [`pacing`]: per-number and per-recipient rate limits shared through Redis;
//! - [`sequencer`]: keeps each recipient's messages in order within a replica;
//! - [`tokens`]: storing a sealed access token and resuming parked sends;
//! - [`metrics`], [`serve`]: the running service.

pub mod deliver;
pub mod graph;
pub mod ledger;
pub mod metrics;
pub mod pacing;
pub mod payload;
pub mod sender;
pub mod sequencer;
pub mod serve;
pub mod tokens;

pub use serve::serve;
