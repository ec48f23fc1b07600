//! The current time, injected: every decision that depends on "now" asks a [`Clock`], so
//! tests decide what now is for the business instead of waiting for it.

use std::sync::Arc;

use jiff::Timestamp;

#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Clock(Arc::new(Timestamp::now))
    }

    /// A clock that always reads `at`.
    pub fn fixed(at: Timestamp) -> Self {
        Clock(Arc::new(move || at))
    }

    /// A clock read from `now` (a test's adjustable time, say).
    pub fn from_fn(now: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    pub fn now(&self) -> Timestamp {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}
