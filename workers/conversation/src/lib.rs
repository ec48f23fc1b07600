//! `cita-conversation`: from raw WhatsApp webhooks to the assistant's replies.
//!
//! - [`intake`]: webhook bodies from `conversation.inbound` become stored messages,
//!   statuses and handoffs, item by item, and turn requests;
//! - [`model`]: calls to the Messages API, typed;
//! - [`metrics`]: what the service counts.

pub mod intake;
pub mod metrics;
pub mod model;
