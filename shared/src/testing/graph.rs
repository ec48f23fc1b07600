//! A fake of Meta's Graph API on loopback: it accepts sends and read receipts as Meta
//! would, records every request, and answers the next requests as a test scripts them
//! (errors, status codes, slowness). Also serves media for download tests.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Incoming};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::http::Body;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, e.g. `/v23.0/100000000000001/messages`.
    pub path: String,
    pub authorization: Option<String>,
    /// The JSON body (`Null` when there was none).
    pub body: Value,
    pub at: Instant,
}

/// How the fake answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with a fresh `wamid.fake.N` (or `{"success": true}` for a read receipt).
    Accept,
    /// A Graph API error with this HTTP status and error code.
    Error { status: u16, code: i64 },
    /// A bare status with a non-JSON body, as a proxy in the way would answer.
    Bare(u16),
    /// Answers `Accept` only after this long (longer than the client's timeout: a hang).
    Slow(Duration),
    /// 200 with this message id (Meta's ids never repeat; this one may).
    AcceptAs(String),
}

struct State {
    requests: Mutex<Vec<Recorded>>,
    /// Every request as it arrives, for benches that wait on many recipients at once.
    arrivals: tokio::sync::broadcast::Sender<Recorded>,
    script: Mutex<VecDeque<Reply>>,
    latency: Mutex<Duration>,
    media: Mutex<HashMap<String, (String, Bytes)>>,
    next_id: AtomicU64,
}

pub struct FakeGraph {
    /// What `CITA_GRAPH_API_BASE` should be set to.
    pub base: String,
    state: Arc<State>,
    stop: CancellationToken,
}

impl FakeGraph {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(State {
            requests: Mutex::default(),
            arrivals: tokio::sync::broadcast::channel(1 << 16).0,
            script: Mutex::default(),
            latency: Mutex::default(),
            media: Mutex::default(),
            next_id: AtomicU64::new(0),
        });
        let stop = CancellationToken::new();
        let handler = {
            let state = state.clone();
            let base = base.clone();
            move |request: Request<Incoming>| {
                let state = state.clone();
                let base = base.clone();
                async move { answer(&state, &base, request).await }
            }
        };
        tokio::spawn(crate::http::serve(
            listener,
            handler,
            stop.clone(),
            Duration::from_secs(1),
        ));
        FakeGraph { base, state, stop }
    }

    /// The next requests get these answers, in order; after them, `Accept` again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    /// Every answer waits this long first (Meta's latency).
    pub fn set_latency(&self, latency: Duration) {
        *self.state.latency.lock().unwrap() = latency;
    }

    /// Media the fake serves at `/{version}/{id}` (metadata) and a download URL.
    pub fn add_media(&self, id: &str, mime_type: &str, data: impl Into<Bytes>) {
        self.state
            .media
            .lock()
            .unwrap()
            .insert(id.into(), (mime_type.into(), data.into()));
    }

    /// Every request from now on, as it arrives.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Recorded> {
        self.state.arrivals.subscribe()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Requests to `.../messages` (sends and read receipts), in arrival order.
    pub fn sends(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/messages"))
            .collect()
    }

    /// Waits until at least `n` sends arrived, or panics after `timeout`.
    pub async fn wait_for_sends(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let sends = self.sends();
            if sends.len() >= n {
                return sends;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} sends, got {}: {sends:#?}",
                sends.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn clear(&self) {
        self.state.requests.lock().unwrap().clear();
    }
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn answer(state: &State, base: &str, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return respond(StatusCode::BAD_REQUEST, json!({"error": "body"})),
    };
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let recorded = Recorded {
        method: method.clone(),
        path: path.clone(),
        authorization: authorization.clone(),
        body: body.clone(),
        at: Instant::now(),
    };
    state.requests.lock().unwrap().push(recorded.clone());
    // Nobody listening is fine.
    let _ = state.arrivals.send(recorded);
    let latency = *state.latency.lock().unwrap();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if !authorization
        .as_deref()
        .is_some_and(|a| a.starts_with("Bearer "))
    {
        return graph_error(401, 190, "Invalid OAuth access token.");
    }
    if let Some(media) = media(state, base, &method, &path) {
        return media;
    }
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Accept);
    match reply {
        Reply::Accept => accept(state, &body),
        Reply::AcceptAs(id) => accepted(&body, &id),
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            accept(state, &body)
        }
        Reply::Error { status, code } => graph_error(status, code, "scripted error"),
        Reply::Bare(status) => {
            let mut response =
                Response::new(Full::new(Bytes::from_static(b"<html>bad gateway</html>")));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            response
        }
    }
}

fn accept(state: &State, body: &Value) -> Response<Body> {
    if body["status"] == "read" {
        return respond(StatusCode::OK, json!({"success": true}));
    }
    let n = state.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    accepted(body, &format!("wamid.fake.{n}"))
}

fn accepted(body: &Value, message_id: &str) -> Response<Body> {
    let to = body["to"].as_str().unwrap_or_default();
    respond(
        StatusCode::OK,
        json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": message_id}],
        }),
    )
}

/// `GET /{version}/{media_id}` → metadata with a URL; `GET /media/{id}` → the bytes.
fn media(state: &State, base: &str, method: &str, path: &str) -> Option<Response<Body>> {
    if method != "GET" {
        return None;
    }
    let path = path.split('?').next().unwrap_or_default();
    let media = state.media.lock().unwrap();
    if let Some(id) = path.strip_prefix("/media/") {
        let (mime_type, data) = media.get(id)?;
        let mut response = Response::new(Full::new(data.clone()));
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            mime_type.parse().expect("a mime type"),
        );
        return Some(response);
    }
    let id = path.rsplit('/').next()?;
    let (mime_type, data) = media.get(id)?;
    Some(respond(
        StatusCode::OK,
        json!({
            "messaging_product": "whatsapp",
            "url": format!("{base}/media/{id}"),
            "mime_type": mime_type,
            "sha256": hex::encode(Sha256::digest(data)),
            "file_size": data.len().to_string(),
            "id": id,
        }),
    ))
}

fn graph_error(status: u16, code: i64, message: &str) -> Response<Body> {
    respond(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({"error": {
            "message": format!("(#{code}) {message}"),
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": message},
            "fbtrace_id": "AfakeTrace",
        }}),
    )
}

/// A JSON response with `status`; the fakes' common answer.
pub(super) fn respond(status: StatusCode, body: Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
