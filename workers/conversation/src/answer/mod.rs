//! What both answerers share — the AI dialogue and guided mode only decide *what to
//! say*; everything about getting it said lives here: the messages waiting
//! ([`pending`]), the turn's lease ([`lease`]), the send commands ([`send`]) and the one
//! path that commits an answer ([`commit`]).

pub mod commit;
pub mod lease;
pub mod pending;
pub mod send;

pub use commit::{Answer, Commit, Committed, Update};
pub use pending::Pending;
pub use send::Sender;
