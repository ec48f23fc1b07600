//! Test support for every crate's integration tests (feature `testing`): a throwaway
//! database with migrations applied, an AMQP name prefix whose topology is deleted
//! afterwards, a TCP proxy that can cut, refuse or stall the link to a server, and fakes
//! of Meta's Graph API, Anthropic's Messages API and Mercado Pago's API, and the
//! barbershop they book into.

pub mod barbershop;
mod broker;
mod db;
mod graph;
mod mercadopago;
mod model;
mod proxy;

pub use barbershop::{Barbershop, Service};
pub use broker::{Tap, TestBroker};
pub use db::TestDb;
pub use graph::{FakeGraph, Recorded, Reply};
pub use mercadopago::{FakeMercadoPago, Notification};
pub use model::{FakeModel, ModelReply};
pub use proxy::{ProxyMode, TcpProxy};

/// Runs `cleanup` to completion on a runtime of its own. Cleanups run from `Drop`, which
/// may happen inside a test's runtime (where blocking on it would deadlock) or during a
/// panic; a separate thread works in both cases.
fn run_detached<F>(cleanup: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let thread = std::thread::spawn(move || {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(cleanup),
            Err(error) => eprintln!("test cleanup: cannot build a runtime: {error}"),
        }
    });
    let _ = thread.join();
}

/// Asks `check` every few milliseconds until it answers `Some`, for at most `within`;
/// panics naming `what` otherwise. The one place tests wait for something to happen.
pub async fn eventually<T, F, Fut>(within: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(done) = check().await {
            return done;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A loopback port that was free a moment ago, for a child process to bind.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// A memory figure of a process from `/proc/<pid>/status` in KiB (`VmRSS:` now,
/// `VmHWM:` the peak); 0 when the process is gone.
pub fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) a process has used so far, in milliseconds; 0 when gone.
pub fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5), the 12th and 13th after the name;
    // the clock tick is 100 Hz on Linux.
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field(11) + field(12)) * 10
}

/// The ids of running processes whose command name is `name` (`postgres`, `beam.smp`).
pub fn pids_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == name)
        })
        .collect()
}

/// A clock a test moves by hand: every clone reads the same time.
#[derive(Clone, Debug)]
pub struct ManualClock(std::sync::Arc<std::sync::Mutex<jiff::Timestamp>>);

impl ManualClock {
    pub fn new(at: jiff::Timestamp) -> Self {
        ManualClock(std::sync::Arc::new(std::sync::Mutex::new(at)))
    }

    pub fn now(&self) -> jiff::Timestamp {
        *self.0.lock().expect("clock lock")
    }

    pub fn set(&self, at: jiff::Timestamp) {
        *self.0.lock().expect("clock lock") = at;
    }

    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut at = self.0.lock().expect("clock lock");
        *at += by;
    }

    /// The clock services are given.
    pub fn clock(&self) -> crate::clock::Clock {
        let hand = self.clone();
        crate::clock::Clock::from_fn(move || hand.now())
    }
}
