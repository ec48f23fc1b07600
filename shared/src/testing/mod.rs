//! Test support for every crate's integration tests (feature `testing`): a throwaway
//! database with migrations applied, an AMQP name prefix whose topology is deleted
//! afterwards, a TCP proxy that can cut, refuse or stall the link to a server, and fakes
//! of Meta's Graph API and Anthropic's Messages API.

mod broker;
mod db;
mod graph;
mod model;
mod proxy;

pub use broker::TestBroker;
pub use db::TestDb;
pub use graph::{FakeGraph, Recorded, Reply};
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
