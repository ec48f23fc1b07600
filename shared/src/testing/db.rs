use deadpool_postgres::Pool;
use tokio_postgres::NoTls;

use crate::{db, secret::Secret, tls::Endpoint};

/// A database of its own for one test, migrated, dropped when the value is dropped.
/// The server is the one of `CITA_DATABASE_URL` (default: local PostgreSQL).
pub struct TestDb {
    pub name: String,
    pub url: Secret,
    pub pool: Pool,
    server: tokio_postgres::Config,
}

impl TestDb {
    /// Creates an empty database (no migrations).
    pub async fn empty() -> Self {
        let server = server_config();
        let name = format!("cita_test_{}", uuid::Uuid::new_v4().simple());
        let (client, connection) = server.connect(NoTls).await.expect("connect to PostgreSQL");
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        drop(client);
        let _ = driver.await;

        let mut config = server.clone();
        config.dbname(&name);
        let url = Secret::new(url_of(&config));
        let pool = db::pool(&Endpoint::from(url.clone()), 8).expect("test database pool");
        TestDb {
            name,
            url,
            pool,
            server,
        }
    }

    /// Creates a database with every migration applied.
    pub async fn migrated() -> Self {
        let test_db = Self::empty().await;
        let mut client = test_db.pool.get().await.expect("test database connection");
        db::migrate(&mut client).await.expect("migrations apply");
        drop(client);
        test_db
    }
}

impl TestDb {
    /// The one number `sql` selects: a count, usually.
    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.pool.get().await.expect("test database connection");
        client
            .query_one(sql, &[])
            .await
            .expect("the query runs")
            .get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.pool.close();
        let server = self.server.clone();
        let name = self.name.clone();
        super::run_detached(async move {
            let Ok((client, connection)) = server.connect(NoTls).await else {
                return;
            };
            let driver = tokio::spawn(connection);
            if let Err(error) = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
            {
                eprintln!("test cleanup: cannot drop {name}: {error}");
            }
            drop(client);
            let _ = driver.await;
        });
    }
}

/// The maintenance database of the configured server.
fn server_config() -> tokio_postgres::Config {
    let url = std::env::var("CITA_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut config: tokio_postgres::Config = url.parse().expect("CITA_DATABASE_URL is a valid URL");
    config.dbname("postgres");
    config
}

fn url_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|p| format!(":{}", String::from_utf8_lossy(p)))
        .unwrap_or_default();
    let dbname = config.get_dbname().unwrap_or("postgres");
    format!("postgres://{user}{password}@{host}:{port}/{dbname}")
}
