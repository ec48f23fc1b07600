//! Queries through the connection's statement cache: a statement is parsed once per
//! connection instead of once per call, which halves the round trips of each query and
//! spares PostgreSQL the parsing.

use deadpool_postgres::{Client, ClientWrapper, Transaction};
use tokio_postgres::{Row, Statement, types::ToSql};

/// Query parameters, as tokio-postgres takes them.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

// Callers use it on the concrete types below, whose futures the compiler sees to be Send.
#[allow(async_fn_in_trait)]
pub trait Cached {
    async fn statement(&self, sql: &str) -> Result<Statement, tokio_postgres::Error>;

    async fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error>;
    async fn row(&self, sql: &str, params: Params<'_>) -> Result<Row, tokio_postgres::Error>;
    async fn maybe_row(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error>;
    async fn run(&self, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error>;
}

/// Every connection type forwards to the same statement-cached calls.
macro_rules! cached {
    ($($client:ty),+) => {$(
        impl Cached for $client {
            async fn statement(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
                self.prepare_cached(sql).await
            }

            async fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
                self.query(&self.statement(sql).await?, params).await
            }

            async fn row(&self, sql: &str, params: Params<'_>) -> Result<Row, tokio_postgres::Error> {
                self.query_one(&self.statement(sql).await?, params).await
            }

            async fn maybe_row(
                &self,
                sql: &str,
                params: Params<'_>,
            ) -> Result<Option<Row>, tokio_postgres::Error> {
                self.query_opt(&self.statement(sql).await?, params).await
            }

            async fn run(&self, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
                self.execute(&self.statement(sql).await?, params).await
            }
        }
    )+};
}

// A transaction, a bare connection (reads without a transaction), a pooled connection.
cached!(Transaction<'_>, ClientWrapper, Client);
