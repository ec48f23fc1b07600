//! Test support for every crate's integration tests (feature `testing`): a throwaway
//! database with migrations applied, an AMQP name prefix whose topology is deleted
//! afterwards, a TCP proxy that can cut, refuse or stall the link to a server, and a
//! fake of Meta's Graph API.

mod broker;
mod db;
mod graph;
mod proxy;

pub use broker::TestBroker;
pub use db::TestDb;
pub use graph::{FakeGraph, Recorded, Reply};
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
