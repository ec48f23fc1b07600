//! Waiting out an outage in place: the one retry loop of the fleet. The consumer runs
//! every delivery's handler through it, and the few writes that must not be given up
//! early (outbound recording a send Meta accepted) use it directly.

use std::{future::Future, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::error::{Chain, Classify};

/// Why [`patiently`] stopped trying.
#[derive(Debug)]
pub enum GaveUp<E> {
    /// The error is permanent: trying again would fail the same way.
    Permanent(E),
    /// Still failing when the patience ran out.
    Exhausted(E),
    /// The process is stopping.
    Stopped,
}

/// Runs `attempt` until it succeeds, backing off from 100 ms to 5 s, for at most
/// `patience`. A permanent error ends it at once; a stop request ends the wait between
/// tries. `what` names the work in the logs.
pub async fn patiently<T, E, F>(
    patience: Duration,
    stop: &CancellationToken,
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> Result<T, GaveUp<E>>
where
    E: Classify,
    F: Future<Output = Result<T, E>>,
{
    let mut pause = Duration::from_millis(100);
    let started = tokio::time::Instant::now();
    loop {
        let error = match attempt().await {
            Ok(done) => return Ok(done),
            Err(error) => error,
        };
        if !error.is_transient() {
            return Err(GaveUp::Permanent(error));
        }
        if started.elapsed() + pause >= patience {
            tracing::warn!(error = %Chain(&error), what, "still failing; giving up for now");
            return Err(GaveUp::Exhausted(error));
        }
        tracing::warn!(error = %Chain(&error), what, retry_in = ?pause, "failed; retrying");
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.cancelled() => return Err(GaveUp::Stopped),
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Failure(&'static str, bool);

    impl Classify for Failure {
        fn is_transient(&self) -> bool {
            self.1
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_is_tried_again_and_a_permanent_one_is_not() {
        let tries = AtomicU32::new(0);
        let stop = CancellationToken::new();
        let done = patiently(Duration::from_secs(60), &stop, "test", || async {
            match tries.fetch_add(1, Ordering::Relaxed) {
                0 | 1 => Err(Failure("down", true)),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(done.unwrap(), 7);
        assert_eq!(tries.load(Ordering::Relaxed), 3);

        tries.store(0, Ordering::Relaxed);
        let refused = patiently::<(), _, _>(Duration::from_secs(60), &stop, "test", || async {
            tries.fetch_add(1, Ordering::Relaxed);
            Err(Failure("duplicate key", false))
        })
        .await;
        assert!(matches!(refused, Err(GaveUp::Permanent(_))));
        assert_eq!(tries.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_patience_bounds_the_retrying() {
        let stop = CancellationToken::new();
        let started = tokio::time::Instant::now();
        let outcome = patiently::<(), _, _>(Duration::from_secs(30), &stop, "test", || async {
            Err(Failure("down", true))
        })
        .await;
        assert!(matches!(outcome, Err(GaveUp::Exhausted(_))));
        assert!(started.elapsed() <= Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_wait_between_tries() {
        let stop = CancellationToken::new();
        stop.cancel();
        let outcome = patiently::<(), _, _>(Duration::from_secs(30), &stop, "test", || async {
            Err(Failure("down", true))
        })
        .await;
        assert!(matches!(outcome, Err(GaveUp::Stopped)));
    }
}
