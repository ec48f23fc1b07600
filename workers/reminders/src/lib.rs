//! `cita-reminders`: who is told what, and when. It never calls Meta: every message goes
//! to `outbound.send` as a send command with a template fallback.
//!
//! - [`intake`]: events from `reminders.events` become notification rows, once per event;
//! - [`planner`]: the clock's rows (morning agendas) and conversation housekeeping;
//! - [`dispatch`]: due rows become send commands, exactly once per row;
//! - [`metrics`], [`serve`]: the running service.

use std::sync::Arc;

pub mod dispatch;
pub mod intake;
pub mod metrics;
pub mod planner;
pub mod serve;

pub use serve::serve;

/// The current time; injected so tests never wait for real time.
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;
