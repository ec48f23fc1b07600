//! The local sandbox: stands in for Meta's Graph API when no real one is configured.
//! It accepts send calls and read receipts as Meta would, keeps the messages in memory
//! for the demo chat to show, and posts signed status webhooks (sent, delivered, read)
//! back to the ingress, the way WhatsApp reports delivery.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use cita_shared::http::{Body, serve, text};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode, body::Incoming};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// One message a worker sent through the sandbox.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub seq: u64,
    pub wamid: String,
    pub phone_number_id: String,
    pub to: String,
    /// The send call's body, as the worker posted it.
    pub message: Value,
    /// The statuses reported so far: `sent`, `delivered`, `read`.
    pub statuses: Vec<String>,
}

struct State {
    sent: Mutex<Vec<Sent>>,
    next: AtomicU64,
    /// Makes message ids unique across sandbox runs, as Meta's are: the fleet's database
    /// outlives the sandbox and stores them under a unique constraint.
    run: i64,
    /// Where status webhooks go (the ingress's webhook URL), and the app secret that
    /// signs them.
    ingress: String,
    app_secret: String,
    http: reqwest::Client,
}

/// When each status is reported after the send, as a phone online would.
const STATUSES: [(&str, Duration); 3] = [
    ("sent", Duration::from_millis(150)),
    ("delivered", Duration::from_millis(300)),
    ("read", Duration::from_millis(900)),
];
const MAX_BODY: usize = 1 << 20;

/// Serves the sandbox on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    ingress: String,
    app_secret: String,
    shutdown: CancellationToken,
) {
    let state = Arc::new(State {
        sent: Mutex::default(),
        next: AtomicU64::new(1),
        run: jiff::Timestamp::now().as_millisecond(),
        ingress,
        app_secret,
        http: crate::http_client(),
    });
    let handler = move |request: Request<Incoming>| {
        let state = state.clone();
        async move { answer(&state, request).await }
    };
    serve(listener, handler, shutdown, Duration::from_secs(2)).await;
}

async fn answer(state: &Arc<State>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method(), parts.as_slice()) {
        (&Method::GET, ["healthz"]) => text(StatusCode::OK, "ok\n"),
        (&Method::GET, ["sandbox", "messages"]) => {
            let to = query
                .split('&')
                .find_map(|p| p.strip_prefix("to="))
                .map(str::to_owned);
            let sent: Vec<Sent> = state
                .sent
                .lock()
                .expect("sandbox lock")
                .iter()
                .filter(|s| to.as_ref().is_none_or(|to| &s.to == to))
                .cloned()
                .collect();
            json_response(StatusCode::OK, &json!({ "messages": sent }))
        }
        (&Method::POST, [_version, phone_number_id, "messages"]) => {
            let phone_number_id = (*phone_number_id).to_owned();
            let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        100,
                        "body too large or unreadable",
                    );
                }
            };
            let Ok(message) = serde_json::from_slice::<Value>(&body) else {
                return graph_error(StatusCode::BAD_REQUEST, 100, "the body is not JSON");
            };
            if message["status"] == "read" {
                return json_response(StatusCode::OK, &json!({"success": true}));
            }
            let Some(to) = message["to"].as_str().map(str::to_owned) else {
                return graph_error(StatusCode::BAD_REQUEST, 100, "missing to");
            };
            let seq = state.next.fetch_add(1, Ordering::Relaxed);
            let wamid = format!("wamid.sandbox.{}.{seq}", state.run);
            tracing::info!(%to, kind = %message["type"], %wamid, "sandbox: message sent");
            state.sent.lock().expect("sandbox lock").push(Sent {
                seq,
                wamid: wamid.clone(),
                phone_number_id: phone_number_id.clone(),
                to: to.clone(),
                message,
                statuses: Vec::new(),
            });
            tokio::spawn(report(
                state.clone(),
                seq,
                phone_number_id,
                wamid.clone(),
                to.clone(),
            ));
            json_response(
                StatusCode::OK,
                &json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": wamid}],
                }),
            )
        }
        _ => graph_error(StatusCode::NOT_FOUND, 100, "unknown path"),
    }
}

/// Posts the message's statuses to the ingress, signed, one after another.
async fn report(state: Arc<State>, seq: u64, phone_number_id: String, wamid: String, to: String) {
    for (status, after) in STATUSES {
        tokio::time::sleep(after).await;
        let body = status_webhook(&phone_number_id, &wamid, &to, status);
        let posted =
            crate::post_signed(&state.http, &state.ingress, &state.app_secret, &body).await;
        match posted {
            Ok(response) if response.status().is_success() => {
                if let Some(sent) = state
                    .sent
                    .lock()
                    .expect("sandbox lock")
                    .iter_mut()
                    .find(|s| s.seq == seq)
                {
                    sent.statuses.push(status.to_owned());
                }
            }
            Ok(response) => {
                tracing::warn!(status = %response.status(), %wamid, "sandbox: the ingress refused a status webhook");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, %wamid, "sandbox: cannot post a status webhook");
                return;
            }
        }
    }
}

/// A `statuses[]` notification as Meta posts it.
pub fn status_webhook(phone_number_id: &str, wamid: &str, to: &str, status: &str) -> Value {
    crate::notification(
        phone_number_id,
        json!({"statuses": [{
            "id": wamid,
            "status": status,
            "timestamp": jiff::Timestamp::now().as_second().to_string(),
            "recipient_id": to,
        }]}),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

fn graph_error(status: StatusCode, code: i64, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "sandbox"}}),
    )
}
