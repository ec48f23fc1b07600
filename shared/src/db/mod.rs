//! PostgreSQL: the connection pool, cached statements and the migration runner.

mod cached;
mod migrate;

pub use cached::{Cached, Params};

pub use migrate::{MIGRATIONS, Migration, SEEDS, create_database_if_missing, migrate, seed};

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::{error::Infra, secret::Secret};

crate::infra_errors!(DbError);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL")]
    Url(#[source] tokio_postgres::Error),
    #[error(transparent)]
    Infra(#[from] Infra),
    #[error("could not build the database pool")]
    Build(#[from] deadpool_postgres::BuildError),
    #[error(
        "migration {version} ({name}) was edited after it was applied; add a new migration instead"
    )]
    EditedMigration { version: i32, name: String },
    #[error(
        "the database has migration {0}, which this binary does not know; deploy a newer binary"
    )]
    UnknownMigration(i32),
}

/// Builds a pool of at most `size` connections. Waiting for a free connection or opening
/// a new one gives up after 5 s, so a stuck database turns into errors instead of hangs.
pub fn pool(url: &Secret, size: usize) -> Result<Pool, DbError> {
    let pg: tokio_postgres::Config = url.expose().parse().map_err(DbError::Url)?;
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let timeout = Some(Duration::from_secs(5));
    Ok(Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .build()?)
}
