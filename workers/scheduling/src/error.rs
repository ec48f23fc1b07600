//! Why an operation did not succeed: a decision for the caller (`Rejected`), or a
//! failure of ours that the caller may retry.

use cita_shared::{
    contracts::scheduling::SchedulingError,
    error::{Chain, Infra},
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A business decision, returned to the caller as it is.
    #[error(transparent)]
    Rejected(#[from] SchedulingError),
    #[error(transparent)]
    Infra(#[from] Infra),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

cita_shared::infra_errors!(Error);

impl Error {
    pub fn not_found(what: &str) -> Self {
        Error::Rejected(SchedulingError::NotFound {
            what: what.to_owned(),
        })
    }

    pub fn invalid(reason: impl Into<String>) -> Self {
        Error::Rejected(SchedulingError::InvalidRequest {
            reason: reason.into(),
        })
    }

    /// A deadlock or serialization failure: the same transaction may succeed if run again.
    pub fn is_transient(&self) -> bool {
        use tokio_postgres::error::SqlState;
        matches!(self, Error::Infra(Infra::Postgres(e)) if matches!(
            e.code(),
            Some(&SqlState::T_R_DEADLOCK_DETECTED | &SqlState::T_R_SERIALIZATION_FAILURE)
        ))
    }

    /// What the caller is told. Failures of ours become `Unavailable` (and are logged
    /// once, here, with their cause).
    pub fn into_reply_error(self) -> SchedulingError {
        match self {
            Error::Rejected(error) => error,
            other => {
                tracing::error!(error = %Chain(&other), "scheduling operation failed");
                SchedulingError::Unavailable
            }
        }
    }
}

pub const FORBIDDEN: Error = Error::Rejected(SchedulingError::Forbidden);
