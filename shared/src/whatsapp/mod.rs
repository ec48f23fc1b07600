//! WhatsApp's side of things that more than one binary reads: webhook payloads and phone
//! identities.

pub mod phone;
pub mod webhook;
