use std::{net::SocketAddr, sync::Arc};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tokio_util::sync::CancellationToken;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forward bytes both ways.
    Forward,
    /// Accept new connections and close them at once (existing ones keep forwarding).
    Refuse,
    /// Keep every connection open but forward nothing: a blackholed network.
    Stall,
}

/// A TCP proxy on 127.0.0.1 in front of `target`, controlled by the test.
pub struct TcpProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<ProxyMode>,
    /// Replaced on every `cut`; connections end when the token they hold is cancelled.
    connections: Arc<std::sync::Mutex<CancellationToken>>,
    stop: CancellationToken,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, mode_rx) = watch::channel(ProxyMode::Forward);
        let connections = Arc::new(std::sync::Mutex::new(CancellationToken::new()));
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(
            listener,
            target,
            mode_rx,
            connections.clone(),
            stop.clone(),
        ));
        TcpProxy {
            addr,
            mode,
            connections,
            stop,
        }
    }

    pub fn set_mode(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }

    /// Closes every open connection, as a network failure or broker crash would.
    pub fn cut(&self) {
        let mut current = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        current.cancel();
        *current = CancellationToken::new();
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    mode: watch::Receiver<ProxyMode>,
    connections: Arc<std::sync::Mutex<CancellationToken>>,
    stop: CancellationToken,
) {
    loop {
        let client = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => continue,
            },
            () = stop.cancelled() => return,
        };
        if *mode.borrow() == ProxyMode::Refuse {
            drop(client);
            continue;
        }
        let token = connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mode = mode.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(target).await else {
                return;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::select! {
                () = pipe(client_read, server_write, mode.clone()) => {}
                () = pipe(server_read, client_write, mode) => {}
                () = token.cancelled() => {}
            }
        });
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<ProxyMode>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        // While stalled, read nothing: the sender's buffers fill and nothing arrives.
        if mode.wait_for(|m| *m != ProxyMode::Stall).await.is_err() {
            return;
        }
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if *mode.borrow() == ProxyMode::Stall {
            // The stall began while this read was pending: hold the bytes back too.
            if mode.wait_for(|m| *m != ProxyMode::Stall).await.is_err() {
                return;
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
