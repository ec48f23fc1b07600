//! Payments: what Cita needs of Mercado Pago.
//!
//! - [`signature`]: the `x-signature` of its notifications.

pub mod signature;
