//! Starts a real `cita-ingress` (the same `serve` that `main` runs) on port 0 against the
//! local RabbitMQ under a test prefix, optionally through a TCP proxy the test controls.

#![allow(dead_code)] // each test file uses a different part

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use bytes::Bytes;
use cita_shared::whatsapp::signature::sign;
use cita_shared::{
    amqp::topology::CONVERSATION_INBOUND,
    config::{Component, ConfigError, Settings},
    http::Drain,
    testing::{ProxyMode, TcpProxy, TestBroker},
};
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const WEBHOOK_URL_PATH: &str = "/webhooks/whatsapp";
pub const MERCADOPAGO_SECRET: &str = "test-mercadopago-secret";

pub struct Options {
    pub app_secrets: String,
    pub publish_timeout_ms: u64,
    pub shutdown_timeout_ms: u64,
    pub max_body_bytes: usize,
    pub through_proxy: bool,
    /// The proxy's mode before the ingress first connects.
    pub proxy_mode: ProxyMode,
    pub wait_until_ready: bool,
    /// `CITA_MERCADOPAGO_WEBHOOK_SECRET`; empty: not configured.
    pub mercadopago_secrets: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            app_secrets: SECRET.into(),
            publish_timeout_ms: 5_000,
            shutdown_timeout_ms: 10_000,
            max_body_bytes: 4 * 1024 * 1024,
            through_proxy: false,
            proxy_mode: ProxyMode::Forward,
            wait_until_ready: true,
            mercadopago_secrets: MERCADOPAGO_SECRET.into(),
        }
    }
}

pub struct TestIngress {
    pub broker: TestBroker,
    pub proxy: Option<TcpProxy>,
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<Result<Drain, ConfigError>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl TestIngress {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let broker = TestBroker::new().await;
        // Declared up front so that tests can count the queue even while the ingress has
        // no broker connection.
        broker.declare().await;
        let proxy = if options.through_proxy {
            let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap()).await;
            proxy.set_mode(options.proxy_mode);
            Some(proxy)
        } else {
            None
        };
        let amqp_url = match &proxy {
            Some(proxy) => format!("amqp://guest:guest@{}/%2f?heartbeat=5", proxy.addr),
            None => broker.url.clone(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let admin_addr = admin_listener.local_addr().unwrap();
        let env: HashMap<String, String> = [
            ("CITA_AMQP_URL", amqp_url),
            ("CITA_AMQP_PREFIX", broker.prefix.clone()),
            ("CITA_META_APP_SECRET", options.app_secrets.clone()),
            ("CITA_META_VERIFY_TOKEN", VERIFY_TOKEN.into()),
            (
                "CITA_PUBLISH_TIMEOUT_MS",
                options.publish_timeout_ms.to_string(),
            ),
            (
                "CITA_SHUTDOWN_TIMEOUT_MS",
                options.shutdown_timeout_ms.to_string(),
            ),
            ("CITA_MAX_BODY_BYTES", options.max_body_bytes.to_string()),
            (
                "CITA_MERCADOPAGO_WEBHOOK_SECRET",
                options.mercadopago_secrets.clone(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let settings = Settings::from_env(Component::Ingress, env).unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { cita_ingress::serve(&settings, listener, admin_listener, shutdown).await }
        });
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(5))
            .build_http();
        let ingress = TestIngress {
            broker,
            proxy,
            addr,
            admin_addr,
            shutdown,
            task,
            client,
        };
        if options.wait_until_ready {
            ingress.wait_until_ready().await;
        }
        ingress
    }

    pub fn proxy(&self) -> &TcpProxy {
        self.proxy.as_ref().expect("started with through_proxy")
    }

    /// Polls `/readyz` until the broker connection is up (at most 10 s).
    pub async fn wait_until_ready(&self) {
        for _ in 0..200 {
            if self.admin_get("/readyz").await.0 == StatusCode::OK {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the ingress did not become ready");
    }

    pub async fn admin_get(&self, path: &str) -> (StatusCode, String) {
        let request = Request::get(format!("http://{}{path}", self.admin_addr))
            .body(Full::new(Bytes::new()))
            .unwrap();
        self.send(request).await.expect("admin server answers")
    }

    pub async fn get(&self, path_and_query: &str) -> (StatusCode, String) {
        let request = Request::get(format!("http://{}{path_and_query}", self.addr))
            .body(Full::new(Bytes::new()))
            .unwrap();
        self.send(request).await.expect("ingress answers")
    }

    /// POSTs `body` signed with `SECRET`.
    pub async fn post_signed(&self, body: &str) -> StatusCode {
        self.try_post(body.as_bytes(), Some(&sign(SECRET, body.as_bytes())))
            .await
            .expect("ingress answers")
            .0
    }

    pub async fn post(&self, body: &[u8], signature: Option<&str>) -> StatusCode {
        self.try_post(body, signature)
            .await
            .expect("ingress answers")
            .0
    }

    /// A POST that may fail at the transport level (the server shutting down).
    pub async fn try_post(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<(StatusCode, String), String> {
        let mut request = Request::post(format!("http://{}{WEBHOOK_URL_PATH}", self.addr))
            .header("content-type", "application/json");
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        self.send(
            request
                .body(Full::new(Bytes::copy_from_slice(body)))
                .unwrap(),
        )
        .await
    }

    /// A POST to any path of the ingress with the given headers.
    pub async fn post_to(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (StatusCode, String) {
        let mut request = Request::post(format!("http://{}{path_and_query}", self.addr))
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(
            request
                .body(Full::new(Bytes::copy_from_slice(body)))
                .unwrap(),
        )
        .await
        .expect("ingress answers")
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Result<(StatusCode, String), String> {
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// Every message in `conversation.inbound`, taken off the queue.
    pub async fn inbound(&self) -> Vec<lapin::message::BasicGetMessage> {
        self.broker.drain(CONVERSATION_INBOUND).await
    }

    /// Stops the ingress and waits for it to exit.
    pub async fn stop(self) -> Drain {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap()
    }
}

/// A Meta-shaped text message notification (about 500 bytes), unique by `n`.
pub fn text_message(n: usize, text: &str) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000001","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"525500000001","phone_number_id":"100000000000001"}},"contacts":[{{"profile":{{"name":"Cliente {n}"}},"wa_id":"5215512345678"}}],"messages":[{{"from":"5215512345678","id":"wamid.HBgNNTIxNTUxMjM0NTY3OBUCABIYFDNBMDAwMDAwMDAwMDAw{n:08}","timestamp":"1763780000","type":"text","text":{{"body":"{text}"}}}}]}},"field":"messages"}}]}}]}}"#
    )
}

/// Sends `total` distinct signed messages from `concurrency` sequential senders and
/// returns the status of each (None: the connection failed), indexed by message number.
/// `after_each` runs after every answer with the number answered so far.
pub async fn load(
    ingress: &std::sync::Arc<TestIngress>,
    total: usize,
    concurrency: usize,
    after_each: impl Fn(usize) + Send + Sync + 'static,
) -> Vec<Option<StatusCode>> {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let after_each = Arc::new(after_each);
    let mut senders = Vec::new();
    for _ in 0..concurrency {
        let (ingress, next, answered, after_each) = (
            ingress.clone(),
            next.clone(),
            answered.clone(),
            after_each.clone(),
        );
        senders.push(tokio::spawn(async move {
            let mut results = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return results;
                }
                let body = text_message(n, "carga");
                let status = ingress
                    .try_post(body.as_bytes(), Some(&sign(SECRET, body.as_bytes())))
                    .await
                    .ok()
                    .map(|(status, _)| status);
                results.push((n, status));
                after_each(answered.fetch_add(1, Ordering::Relaxed) + 1);
                if status != Some(StatusCode::OK) {
                    // Like Meta, back off after a failure instead of hammering.
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            }
        }));
    }
    let mut statuses = vec![None; total];
    for sender in senders {
        for (n, status) in sender.await.unwrap() {
            statuses[n] = status;
        }
    }
    statuses
}

/// Checks the zero-loss promise: every message answered 200 is in the queue exactly
/// once. Messages answered otherwise may or may not be there (the client retries them).
/// Returns how many were answered 200.
pub fn assert_every_200_landed_once(
    statuses: &[Option<StatusCode>],
    queued: &[lapin::message::BasicGetMessage],
) -> usize {
    let mut copies = vec![0usize; statuses.len()];
    for message in queued {
        let body = String::from_utf8(message.delivery.data.clone()).unwrap();
        let n = (0..statuses.len())
            .find(|n| body == text_message(*n, "carga"))
            .expect("every queued message is one the test sent");
        copies[n] += 1;
    }
    let mut ok = 0;
    for (n, status) in statuses.iter().enumerate() {
        if *status == Some(StatusCode::OK) {
            ok += 1;
            assert_eq!(
                copies[n], 1,
                "message {n} was answered 200 and is queued {} times",
                copies[n]
            );
        }
    }
    ok
}
