//! `cita-conversation`: from raw WhatsApp webhooks to the assistant's replies.
//!
//! - [`intake`]: webhook bodies from `conversation.inbound` become stored messages,
//!   statuses and handoffs, item by item, and turn requests;
//! - [`answer`]: what both answerers share: the waiting messages, the lease, the sends
//!   and the one commit path;
//! - [`turns`]: one turn at a time per conversation: its policies, the tool loop, retries;
//! - [`prompt`]: what the model is told (what people are told is in `cita_shared::spanish`);
//! - [`context`]: the business and the person a turn is about;
//! - [`tools`]: the model's tools, re-checked and executed by the system;
//! - [`guided`]: booking by buttons and lists, without the AI;
//! - [`handoff`]: handing a conversation to a person;
//! - [`deposits`]: the deposit a new hold waits for;
//! - [`model`]: calls to the Messages API, typed;
//! - [`metrics`], [`serve`]: the running service.

pub mod answer;
pub mod context;
pub mod deposits;
pub mod guided;
pub mod handoff;
pub mod intake;
pub mod metrics;
pub mod model;
pub mod prompt;
pub mod serve;
pub mod tools;
pub mod turns;

pub use cita_shared::clock::Clock;
pub use serve::serve;
