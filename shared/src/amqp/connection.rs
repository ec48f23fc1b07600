//! Opening a broker connection the same way in every binary: `amqp://` in plain text,
//! `amqps://` over TLS verified against the endpoint's roots (lapin is built with rustls
//! on ring and the system's roots; `CITA_TLS_CA_FILE`'s are added here).

use std::time::Duration;

use lapin::{Connection, ConnectionProperties, tcp::OwnedTLSConfig};

use super::Topology;
use crate::tls::{self, Endpoint};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting timed out")]
    Timeout,
    #[error(transparent)]
    Broker(#[from] lapin::Error),
}

/// Opens a connection named `name` (bounded: lapin has no connect timeout of its own, and
/// a blackholed broker would hang).
pub async fn open(url: &Endpoint, name: &str) -> Result<Connection, ConnectError> {
    tls::install_provider();
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    let tls = OwnedTLSConfig {
        identity: None,
        cert_chain: url.roots().extra_pem().map(str::to_owned),
    };
    tokio::time::timeout(
        Duration::from_secs(10),
        Connection::connect_with_config(
            url.expose(),
            properties,
            tls,
            lapin::runtime::default_runtime()?,
        ),
    )
    .await
    .map_err(|_| ConnectError::Timeout)?
    .map_err(ConnectError::Broker)
}

/// Opens a connection and declares the whole topology.
pub async fn connect(
    url: &Endpoint,
    name: &str,
    topology: &Topology,
) -> Result<Connection, ConnectError> {
    let connection = open(url, name).await?;
    let declaring = connection.create_channel().await?;
    topology.declare(&declaring).await?;
    declaring.close(200, "declared".into()).await?;
    Ok(connection)
}
