//! The one infrastructure error every layer shares, and how failures are classified.
//!
//! A layer's own error enum keeps only its domain cases and wraps [`Infra`] for the rest
//! (`#[error(transparent)]`), so a log line shows each cause once. Whether a failure is
//! worth trying again is decided in one place per type, by [`Classify`]; the consumer
//! loop reads it to wait out an outage or to dead-letter a message that can never work.

use std::{fmt, time::Duration};

/// PostgreSQL, its pool, or the broker failed.
#[derive(Debug, thiserror::Error)]
pub enum Infra {
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// A publish the broker did not confirm. Defined here, with the other sources of
/// [`Infra`], so that this module depends on no other in the crate.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("no connection to the broker")]
    NotConnected,
    #[error("the broker did not confirm within {0:?}")]
    Timeout(Duration),
    #[error("the broker refused the message (nack)")]
    Nacked,
    #[error("the message matched no queue ({code} {text})")]
    Unroutable { code: u16, text: String },
    #[error("the channel is not in confirm mode")]
    ConfirmsOff,
    #[error("the channel failed")]
    Channel(#[from] lapin::Error),
}

/// For a layer's error enum with an `Infra(Infra)` variant: lets `?` turn the sources of
/// [`Infra`] into it directly.
#[macro_export]
macro_rules! infra_errors {
    ($error:ty) => {
        impl From<tokio_postgres::Error> for $error {
            fn from(error: tokio_postgres::Error) -> Self {
                Self::Infra(error.into())
            }
        }
        impl From<deadpool_postgres::PoolError> for $error {
            fn from(error: deadpool_postgres::PoolError) -> Self {
                Self::Infra(error.into())
            }
        }
        impl From<$crate::error::PublishError> for $error {
            fn from(error: $crate::error::PublishError) -> Self {
                Self::Infra(error.into())
            }
        }
    };
}

/// Whether trying the same work again may succeed.
pub trait Classify: std::error::Error + Send + Sync + 'static {
    /// `true` for an outage (a connection lost, a timeout, a deadlock): wait and retry.
    /// `false` for what will fail the same way every time (a constraint violation, a bug):
    /// retrying only hides it.
    fn is_transient(&self) -> bool;
}

impl Classify for Infra {
    fn is_transient(&self) -> bool {
        match self {
            Infra::Postgres(error) => postgres_is_transient(error),
            // Waiting for a connection or opening one: the database is slow or away.
            Infra::Pool(deadpool_postgres::PoolError::Backend(error)) => {
                postgres_is_transient(error)
            }
            Infra::Pool(_) => true,
            // A message no queue is bound for stays unroutable; everything else the
            // publisher reports is the broker being away or pushing back.
            Infra::Publish(error) => !matches!(error, PublishError::Unroutable { .. }),
        }
    }
}

impl Classify for std::convert::Infallible {
    fn is_transient(&self) -> bool {
        match *self {}
    }
}

/// A database error is permanent when the server refused the statement for what it is:
/// bad data (SQLSTATE class 22), a broken constraint (23), a wrong statement or object
/// (42), a failed assertion in SQL (P0). Everything else — a lost connection, a deadlock
/// or serialization failure (40), too many connections (53), an operator shutting the
/// server down (57) — may pass.
fn postgres_is_transient(error: &tokio_postgres::Error) -> bool {
    match error.code() {
        Some(code) => !matches!(&code.code()[..2], "22" | "23" | "42" | "P0"),
        None => true,
    }
}

/// Shows an error with its causes, `outer: inner: innermost`. tokio-postgres's own
/// message is only "db error"; the server's words are in its source.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        let mut last = self.0.to_string();
        while let Some(cause) = source {
            let text = cause.to_string();
            // A transparent wrapper repeats its inner message; say it once.
            if text != last {
                write!(f, ": {text}")?;
            }
            last = text;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    enum Layer {
        #[error(transparent)]
        Outer(#[from] Outer),
    }

    #[test]
    fn a_chain_names_each_cause_once() {
        let error = Layer::Outer(Outer(Inner));
        assert_eq!(Chain(&error).to_string(), "outer: inner");
    }

    #[test]
    fn an_unroutable_message_is_permanent_and_a_lost_broker_is_not() {
        let unroutable = Infra::Publish(PublishError::Unroutable {
            code: 312,
            text: "NO_ROUTE".into(),
        });
        assert!(!unroutable.is_transient());
        assert!(Infra::Publish(PublishError::NotConnected).is_transient());
        assert!(Infra::Pool(deadpool_postgres::PoolError::Closed).is_transient());
    }
}
