//! A fake of Anthropic's Messages API on loopback (served at the root, as the SDK joins
//! `/v1/messages` to the host): it records every request body and answers each call as
//! a test scripts it, or by a responder function when the script is empty.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use http_body_util::BodyExt;
use hyper::{Request, Response, StatusCode, body::Incoming};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::http::Body;

/// How the fake answers one call.
#[derive(Debug, Clone)]
pub enum ModelReply {
    /// 200 with these content blocks and stop reason.
    Message {
        content: Vec<Value>,
        stop_reason: String,
        usage: Value,
    },
    /// An API error (`{"type":"error","error":{"type":…}}`) with this status.
    Error { status: u16, error_type: String },
    /// The inner reply, after this long.
    Slow(Duration, Box<ModelReply>),
}

impl ModelReply {
    /// A final answer in text.
    pub fn text(text: &str) -> Self {
        Self::message(vec![json!({"type": "text", "text": text})], "end_turn")
    }

    /// One tool call.
    pub fn tool(name: &str, input: Value) -> Self {
        Self::tools(None, vec![(name, input)])
    }

    /// Optional text, then several tool calls (ids `toolu_fake_N`).
    pub fn tools(text: Option<&str>, calls: Vec<(&str, Value)>) -> Self {
        let mut content: Vec<Value> = text
            .map(|t| json!({"type": "text", "text": t}))
            .into_iter()
            .collect();
        for (name, input) in calls {
            content.push(json!({"type": "tool_use", "id": "", "name": name, "input": input}));
        }
        Self::message(content, "tool_use")
    }

    pub fn message(content: Vec<Value>, stop_reason: &str) -> Self {
        ModelReply::Message {
            content,
            stop_reason: stop_reason.to_owned(),
            usage: json!({"input_tokens": 1000, "output_tokens": 50,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2000}),
        }
    }

    pub fn error(status: u16, error_type: &str) -> Self {
        ModelReply::Error {
            status,
            error_type: error_type.to_owned(),
        }
    }

    pub fn overloaded() -> Self {
        Self::error(529, "overloaded_error")
    }
}

type Responder = Box<dyn Fn(&Value) -> ModelReply + Send + Sync>;

struct State {
    requests: Mutex<Vec<(Instant, Value)>>,
    script: Mutex<VecDeque<ModelReply>>,
    responder: Mutex<Responder>,
    next_id: AtomicU64,
}

pub struct FakeModel {
    /// What `CITA_ANTHROPIC_BASE_URL` should be set to.
    pub base: String,
    state: Arc<State>,
    stop: CancellationToken,
}

impl FakeModel {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(State {
            requests: Mutex::default(),
            script: Mutex::default(),
            responder: Mutex::new(Box::new(|_| ModelReply::text("Listo."))),
            next_id: AtomicU64::new(0),
        });
        let stop = CancellationToken::new();
        let handler = {
            let state = state.clone();
            move |request: Request<Incoming>| {
                let state = state.clone();
                async move { answer(&state, request).await }
            }
        };
        tokio::spawn(crate::http::serve(
            listener,
            handler,
            stop.clone(),
            Duration::from_secs(1),
        ));
        FakeModel { base, state, stop }
    }

    /// The next calls get these answers, in order; after them, the responder's.
    pub fn script(&self, replies: impl IntoIterator<Item = ModelReply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    /// Answers calls when the script is empty (by default: the text "Listo.").
    pub fn respond_with(&self, responder: impl Fn(&Value) -> ModelReply + Send + Sync + 'static) {
        *self.state.responder.lock().unwrap() = Box::new(responder);
    }

    /// The request bodies received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// When each call arrived, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|(at, _)| *at)
            .collect()
    }

    /// Waits until at least `n` calls arrived, or panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} model calls, got {}",
                requests.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn answer(state: &State, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let has_key = request.headers().contains_key("x-api-key");
    let version = request
        .headers()
        .get("anthropic-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return error(400, "invalid_request_error", "unreadable body", 0),
    };
    let n = state.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    if path != "/v1/messages" {
        return error(404, "not_found_error", "no such path", n);
    }
    if !has_key || version.as_deref() != Some("2023-06-01") {
        return error(
            401,
            "authentication_error",
            "x-api-key and anthropic-version are required",
            n,
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
        return error(400, "invalid_request_error", "body is not JSON", n);
    };
    state
        .requests
        .lock()
        .unwrap()
        .push((Instant::now(), body.clone()));
    let scripted = state.script.lock().unwrap().pop_front();
    let mut reply = match scripted {
        Some(reply) => reply,
        None => (state.responder.lock().unwrap())(&body),
    };
    loop {
        match reply {
            ModelReply::Slow(delay, inner) => {
                tokio::time::sleep(delay).await;
                reply = *inner;
            }
            ModelReply::Error { status, error_type } => {
                return error(status, &error_type, "scripted error", n);
            }
            ModelReply::Message {
                mut content,
                stop_reason,
                usage,
            } => {
                for (i, block) in content.iter_mut().enumerate() {
                    if block["type"] == "tool_use" && block["id"] == "" {
                        block["id"] = json!(format!("toolu_fake_{n}_{i}"));
                    }
                }
                return respond(
                    200,
                    json!({
                        "id": format!("msg_fake_{n}"), "type": "message", "role": "assistant",
                        "model": body["model"], "content": content, "stop_reason": stop_reason,
                        "stop_sequence": null, "usage": usage,
                    }),
                    n,
                );
            }
        }
    }
}

fn error(status: u16, error_type: &str, message: &str, n: u64) -> Response<Body> {
    respond(
        status,
        json!({"type": "error", "error": {"type": error_type, "message": message},
               "request_id": format!("req_fake_{n}")}),
        n,
    )
}

fn respond(status: u16, body: Value, n: u64) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = super::graph::respond(status, body);
    let headers = response.headers_mut();
    if let Ok(id) = format!("req_fake_{n}").parse() {
        headers.insert("request-id", id);
    }
    // The SDK retries on its own unless told not to; the worker owns its retry policy.
    headers.insert(
        "x-should-retry",
        hyper::header::HeaderValue::from_static("false"),
    );
    response
}
