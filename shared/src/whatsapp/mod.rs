//! WhatsApp's side of things that more than one binary reads: webhook payloads, their
//! signature, and phone identities.

mod content;
mod fields;
pub mod phone;
pub mod signature;
pub mod webhook;
