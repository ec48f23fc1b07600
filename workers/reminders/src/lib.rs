//! `cita-reminders`: who is told what, and when. It never calls Meta: every message goes
//! to `outbound.send` as a send command with a template fallback.
//!
//! - [`kind`]: what a notification row is about;
//! - [`intake`]: events from `reminders.events` become notification rows, once per event;
//! - [`planner`]: the clock's rows (morning agendas) and conversation housekeeping;
//! - [`holds`]: holds that ran out are freed, exactly once across replicas;
//! - [`dispatch`]: due rows become send commands, exactly once per row, worded by
//!   [`compose`] from fresh data;
//! - [`metrics`], [`serve`]: the running service.

pub mod compose;
pub mod dispatch;
pub mod holds;
pub mod intake;
pub mod kind;
pub mod metrics;
pub mod planner;
pub mod serve;

pub use cita_shared::clock::Clock;
pub use serve::serve;
