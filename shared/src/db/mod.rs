//! PostgreSQL: the connection pool (plain text or TLS, as the URL's `sslmode` says),
//! cached statements, the migration runner, and the actor the audit log names.

pub mod audit;
mod cached;
mod connect;
mod listen;
mod migrate;
pub mod rows;

pub use cached::{Cached, Params};
pub use connect::{Transport, transport};
pub use listen::{Listening, listen};

pub use migrate::{MIGRATIONS, Migration, SEEDS, create_database_if_missing, migrate, seed};

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::{
    error::Infra,
    tls::{Endpoint, TlsError},
};
use connect::Connector;

crate::infra_errors!(DbError);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL")]
    Url(#[source] tokio_postgres::Error),
    #[error("sslmode {0:?} is not one of disable, prefer, require, verify-full")]
    SslMode(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
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

/// Builds a pool of at most `size` connections, over TLS when the URL's `sslmode` is
/// `require` or `verify-full`. Waiting for a free connection or opening a new one gives
/// up after 5 s, so a stuck database turns into errors instead of hangs.
pub fn pool(url: &Endpoint, size: usize) -> Result<Pool, DbError> {
    builder(url, size)?.build().map_err(DbError::from)
}

/// A pool whose every connection takes `role` first (`SET ROLE`), so that what the role
/// may not see (row-level security, missing grants) holds for everything run on it.
/// `role` is a plain identifier, checked by the configuration.
pub fn pool_as(url: &Endpoint, size: usize, role: &str) -> Result<Pool, DbError> {
    let set_role = format!("SET ROLE {role}");
    builder(url, size)?
        .post_create(deadpool_postgres::Hook::async_fn(move |client, _| {
            let set_role = set_role.clone();
            Box::pin(async move {
                client
                    .batch_execute(&set_role)
                    .await
                    .map_err(deadpool_postgres::HookError::Backend)
            })
        }))
        .build()
        .map_err(DbError::from)
}

fn builder(url: &Endpoint, size: usize) -> Result<deadpool_postgres::PoolBuilder, DbError> {
    let (pg, connector) = connect::prepare(url)?;
    let config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match connector {
        Connector::Plain => Manager::from_config(pg, NoTls, config),
        Connector::Tls(tls) => Manager::from_config(pg, tls, config),
    };
    let timeout = Some(Duration::from_secs(5));
    Ok(Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(timeout)
        .create_timeout(timeout))
}
