//! Every message that crosses a queue, as serde types, so producers and consumers can't
//! drift. Enums are internally tagged (`"type"`) so variants can be added without
//! breaking old consumers.

pub mod conversation;
pub mod events;
pub mod outbound;
pub mod scheduling;
