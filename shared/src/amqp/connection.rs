//! Opening a broker connection the same way in every binary.

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};

use super::Topology;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting timed out")]
    Timeout,
    #[error(transparent)]
    Broker(#[from] lapin::Error),
}

/// Connects (bounded: lapin has no connect timeout of its own, and a blackholed broker
/// would hang) and declares the whole topology.
pub async fn connect(
    url: &Secret,
    name: &str,
    topology: &Topology,
) -> Result<Connection, ConnectError> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    let connection = tokio::time::timeout(
        Duration::from_secs(10),
        Connection::connect(url.expose(), properties),
    )
    .await
    .map_err(|_| ConnectError::Timeout)??;
    let declaring = connection.create_channel().await?;
    topology.declare(&declaring).await?;
    declaring.close(200, "declared".into()).await?;
    Ok(connection)
}
