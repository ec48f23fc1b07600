//! `cita-scheduling`: every read of free time and every write to appointments.
//!
//! - [`engine`]: the pure availability computation (zoned, daylight-saving correct).

pub mod engine;
