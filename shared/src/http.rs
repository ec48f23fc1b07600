//! The accept loop shared by the ingress and every admin port: HTTP/1.1 with keep-alive,
//! a header read timeout, and graceful shutdown.

use std::{convert::Infallible, future::Future, time::Duration};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub type Body = Full<Bytes>;

/// How a server's drain ended after shutdown was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every in-flight request was answered.
    Complete,
    /// Some connections were still busy when the drain timeout ran out.
    TimedOut,
}

/// Serves `handler` on `listener` until `shutdown` is cancelled, then stops accepting,
/// lets in-flight requests finish (closing idle keep-alive connections) for at most
/// `drain_timeout`, and returns.
pub async fn serve<F, Fut>(
    listener: TcpListener,
    handler: F,
    shutdown: CancellationToken,
    drain_timeout: Duration,
) -> Drain
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // A client that opens a connection and sends nothing must not hold it forever.
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(error) => {
                        // Usually EMFILE: back off instead of spinning on the error.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let service = service_fn(move |request| {
                    let response = handler(request);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            () = shutdown.cancelled() => break,
        }
    }
    drop(listener);
    match tokio::time::timeout(drain_timeout, graceful.shutdown()).await {
        Ok(()) => Drain::Complete,
        Err(_) => Drain::TimedOut,
    }
}

/// A response with a status and a short plain-text body.
pub fn text(status: hyper::StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
