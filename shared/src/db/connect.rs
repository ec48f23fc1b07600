//! How a PostgreSQL connection is carried, from the URL's `sslmode`:
//!
//! - `require` or `verify-full`: TLS, with the server's certificate verified against the
//!   endpoint's roots (the system's and `CITA_TLS_CA_FILE`'s) and its name against the
//!   URL's host; a server without TLS, or one that fails the check, is not connected to;
//! - `disable`, `prefer` or none: plain text. `prefer` would be TLS only when the server
//!   offers it, unverified and silently dropped by anyone in between, so it guarantees
//!   nothing; Cita does not pretend it does.
//!
//! `verify-ca` (libpq's chain without the name) is refused rather than made stricter or
//! looser than it says.

use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls, config::SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::DbError;
use crate::tls::{self, Endpoint};

/// Whether connections use TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Plain,
    Tls,
}

/// The URL's transport, and the URL without its `sslmode` (which tokio-postgres would
/// refuse for `verify-full`).
fn split(url: &str) -> Result<(String, Transport), DbError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), Transport::Plain));
    };
    let mut transport = Transport::Plain;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslmode", mode)) => {
                transport = match mode {
                    "disable" | "prefer" => Transport::Plain,
                    "require" | "verify-full" => Transport::Tls,
                    other => return Err(DbError::SslMode(other.to_owned())),
                }
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, transport))
}

/// Whether `url` (a `postgres://` URL) asks for TLS; an `sslmode` Cita does not know is
/// an error (settings check it at start).
pub fn transport(url: &str) -> Result<Transport, DbError> {
    split(url).map(|(_, transport)| transport)
}

/// What opens connections to one server.
#[derive(Clone)]
pub(crate) enum Connector {
    Plain,
    Tls(MakeRustlsConnect),
}

/// The connection settings of `url` (its `sslmode` made explicit) and its connector.
pub(crate) fn prepare(url: &Endpoint) -> Result<(tokio_postgres::Config, Connector), DbError> {
    let (stripped, transport) = split(url.expose())?;
    let mut config: tokio_postgres::Config = stripped.parse().map_err(DbError::Url)?;
    let connector = match transport {
        Transport::Plain => {
            config.ssl_mode(SslMode::Disable);
            Connector::Plain
        }
        Transport::Tls => {
            // Require: a server that answers the TLS request with "no" is an error, never
            // a plain-text session.
            config.ssl_mode(SslMode::Require);
            tls::install_provider();
            Connector::Tls(MakeRustlsConnect::new(url.roots().client_config()?))
        }
    };
    Ok((config, connector))
}

impl Connector {
    /// One connection to `config`, its driver running on a task of its own (it ends when
    /// the client is dropped).
    pub(crate) async fn connect(
        &self,
        config: &tokio_postgres::Config,
    ) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
        fn drive<F>(connection: F) -> JoinHandle<()>
        where
            F: Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
        {
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "PostgreSQL connection ended");
                }
            })
        }
        match self {
            Connector::Plain => {
                let (client, connection) = config.connect(NoTls).await?;
                Ok((client, drive(connection)))
            }
            Connector::Tls(tls) => {
                let (client, connection) = config.connect(tls.clone()).await?;
                Ok((client, drive(connection)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_require_and_verify_full_ask_for_tls() {
        let of = |url: &str| split(url).map_err(|e| e.to_string());
        assert_eq!(
            of("postgres://u@h/db"),
            Ok(("postgres://u@h/db".into(), Transport::Plain))
        );
        assert_eq!(
            of("postgres://u@h/db?sslmode=prefer").map(|(_, t)| t),
            Ok(Transport::Plain)
        );
        assert_eq!(
            of("postgres://u@h/db?sslmode=require&connect_timeout=3"),
            Ok(("postgres://u@h/db?connect_timeout=3".into(), Transport::Tls))
        );
        assert_eq!(
            of("postgres://u@h/db?application_name=x&sslmode=verify-full"),
            Ok((
                "postgres://u@h/db?application_name=x".into(),
                Transport::Tls
            ))
        );
        let err = of("postgres://u:pw@h/db?sslmode=verify-ca").unwrap_err();
        assert!(err.contains("verify-ca") && !err.contains("pw"), "{err}");
    }
}
