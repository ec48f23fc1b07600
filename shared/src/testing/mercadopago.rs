//! A fake of Mercado Pago's API on loopback, answering as Mercado Pago does: Checkout Pro
//! preferences (one per idempotency key), payments made against them (or against any
//! amount, to play a customer who pays the wrong sum), and refunds. It records every
//! request, can be scripted to fail the next ones, and writes the signed notifications
//! Mercado Pago would send for a payment.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use http_body_util::BodyExt;
use hyper::{Request, Response, StatusCode, body::Incoming};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::graph::{Recorded, respond};
use crate::{
    http::Body,
    payments::signature::{Signed, sign},
};

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    /// Preference id → the request that made it.
    preferences: HashMap<String, Value>,
    /// Idempotency key → preference id.
    keys: HashMap<String, String>,
    payments: HashMap<String, Value>,
    /// (payment id, idempotency key, refund id)
    refunds: Vec<(String, String, u64)>,
    /// Statuses the next requests get instead of an answer.
    failures: Vec<u16>,
    next: u64,
}

/// A notification as Mercado Pago posts it: where, with which headers, and its body.
pub struct Notification {
    pub path_and_query: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

pub struct FakeMercadoPago {
    /// What `CITA_MERCADOPAGO_API_BASE` should be set to.
    pub base: String,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

impl FakeMercadoPago {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state: Arc<Mutex<State>> = Arc::default();
        let stop = CancellationToken::new();
        let handler = {
            let (state, base) = (state.clone(), base.clone());
            move |request: Request<Incoming>| {
                let (state, base) = (state.clone(), base.clone());
                async move { answer(&state, &base, request).await }
            }
        };
        tokio::spawn(crate::http::serve(
            listener,
            handler,
            stop.clone(),
            Duration::from_secs(1),
        ));
        FakeMercadoPago { base, state, stop }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The next `statuses.len()` requests get these statuses, in order.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state.lock().unwrap().failures.extend(statuses);
    }

    /// Every preference made, as its request body.
    pub fn preferences(&self) -> Vec<(String, Value)> {
        let state = self.state.lock().unwrap();
        let mut all: Vec<_> = state
            .preferences
            .iter()
            .map(|(id, body)| (id.clone(), body.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The customer pays preference `id` in full: an approved payment with its
    /// reference, amount and currency. Returns the payment's id.
    pub fn pay(&self, preference_id: &str) -> String {
        let preference = self.state.lock().unwrap().preferences[preference_id].clone();
        let item = &preference["items"][0];
        self.add_payment(json!({
            "status": "approved",
            "transaction_amount": item["unit_price"],
            "currency_id": item["currency_id"],
            "external_reference": preference["external_reference"],
        }))
    }

    /// A payment with these fields (`status`, `transaction_amount`, `currency_id`,
    /// `external_reference`); returns its id.
    pub fn add_payment(&self, mut payment: Value) -> String {
        let mut state = self.state.lock().unwrap();
        state.next += 1;
        let id = 1_325_687_000 + state.next;
        payment["id"] = json!(id);
        state.payments.insert(id.to_string(), payment);
        id.to_string()
    }

    /// Every payment as Mercado Pago now reports it (a refunded one says `refunded`).
    pub fn payments(&self) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .payments
            .values()
            .cloned()
            .collect()
    }

    /// Refunds made: (payment id, idempotency key).
    pub fn refunds(&self) -> Vec<(String, String)> {
        let state = self.state.lock().unwrap();
        state
            .refunds
            .iter()
            .map(|(payment, key, _)| (payment.clone(), key.clone()))
            .collect()
    }

    /// The notification Mercado Pago sends about `payment_id` of seller `user_id`, signed
    /// with `secret` at `ts` (unix seconds).
    pub fn notification(payment_id: &str, user_id: &str, secret: &str, ts: i64) -> Notification {
        let request_id = uuid::Uuid::new_v4().to_string();
        let signature = sign(
            secret,
            Signed {
                data_id: Some(payment_id),
                request_id: Some(&request_id),
            },
            ts,
        );
        Notification {
            path_and_query: format!("/webhooks/mercadopago?data.id={payment_id}&type=payment"),
            headers: vec![("x-signature", signature), ("x-request-id", request_id)],
            body: json!({
                "action": "payment.updated", "api_version": "v1", "type": "payment",
                "data": {"id": payment_id}, "live_mode": false, "user_id": user_id,
                "date_created": "2026-12-07T10:00:00Z", "id": ts,
            })
            .to_string(),
        }
    }
}

impl Drop for FakeMercadoPago {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn answer(state: &Mutex<State>, base: &str, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let key = header("x-idempotency-key");
    let bytes = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let mut state = state.lock().unwrap();
    state.requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        authorization: authorization.clone(),
        body: body.clone(),
        at: std::time::Instant::now(),
    });
    if !state.failures.is_empty() {
        let status = state.failures.remove(0);
        return error(status, "scripted failure");
    }
    if !authorization.is_some_and(|a| a.starts_with("Bearer ") && a.len() > 7) {
        return error(401, "invalid access token");
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["checkout", "preferences"]) => {
            let existing = key.as_ref().and_then(|k| state.keys.get(k)).cloned();
            let id = match existing {
                Some(id) => id,
                None => {
                    state.next += 1;
                    let id = format!("pref-{}", state.next);
                    state.preferences.insert(id.clone(), body);
                    if let Some(key) = key {
                        state.keys.insert(key, id.clone());
                    }
                    id
                }
            };
            let link = format!("{base}/checkout/v1/redirect?pref_id={id}");
            respond(StatusCode::CREATED, json!({"id": id, "init_point": link}))
        }
        ("GET", ["v1", "payments", id]) => match state.payments.get(*id) {
            Some(payment) => respond(StatusCode::OK, payment.clone()),
            None => error(404, "Payment not found"),
        },
        ("POST", ["v1", "payments", id, "refunds"]) => {
            let Some(payment) = state.payments.get_mut(*id) else {
                return error(404, "Payment not found");
            };
            payment["status"] = json!("refunded");
            let key = key.unwrap_or_default();
            let id = id.to_string();
            let known = state
                .refunds
                .iter()
                .find(|(p, k, _)| *p == id && *k == key)
                .map(|r| r.2);
            let refund = match known {
                Some(refund) => refund,
                None => {
                    state.next += 1;
                    let refund = 9_000_000 + state.next;
                    state.refunds.push((id, key, refund));
                    refund
                }
            };
            respond(
                StatusCode::CREATED,
                json!({"id": refund, "status": "approved"}),
            )
        }
        _ => error(404, "resource not found"),
    }
}

fn error(status: u16, message: &str) -> Response<Body> {
    respond(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({"message": message, "error": "bad_request", "status": status, "cause": []}),
    )
}
