//! WhatsApp's side of things that more than one binary reads: webhook payloads, their
//! signature, and phone identities.

pub mod phone;
pub mod signature;
pub mod webhook;
