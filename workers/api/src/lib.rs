//! `cita-api`: the owner's and staff's HTTP API. People log in with a code sent to their
//! WhatsApp; reads run under row-level security for the caller's organization; every
//! write is a `scheduling.rpc` request, authorized and recorded by scheduling exactly as
//! the chat's are.

pub mod auth;
pub mod body;
pub mod ical;
pub mod limits;
pub mod live;
pub mod problem;
pub mod reads;
pub mod routes;
pub mod secrets;
pub mod serve;
pub mod state;
pub mod tenant;
pub mod web;

pub use serve::serve;
