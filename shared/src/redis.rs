//! Opening Redis the same way wherever it is used (scheduling's availability cache,
//! outbound's rate limits): `redis://` in plain text, `rediss://` over TLS verified
//! against the endpoint's roots — never in plain text.

use std::time::Duration;

use ::redis::{
    Client, ConnectionAddr, IntoConnectionInfo, RedisError, TlsCertificates,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use crate::tls::{self, Endpoint};

/// A client for `url`; nothing is connected yet.
pub fn client(url: &Endpoint) -> Result<Client, RedisError> {
    let info = url.expose().into_connection_info()?;
    if matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
        tls::install_provider();
        // redis trusts exactly the roots it is given, so it is given all of them: the
        // system's and CITA_TLS_CA_FILE's.
        Client::build_with_tls(
            info,
            TlsCertificates {
                client_tls: None,
                root_cert: Some(url.roots().store_pem()),
            },
        )
    } else {
        Client::open(info)
    }
}

/// A connection that reconnects by itself. Connecting, and each command later, gives up
/// after `patience`.
pub async fn connect(url: &Endpoint, patience: Duration) -> Result<ConnectionManager, RedisError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(patience))
        .set_response_timeout(Some(patience));
    ConnectionManager::new_with_config(client(url)?, config).await
}
