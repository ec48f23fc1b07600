//! `cita-demo`: what `make run` and `make demo` use on a machine without Meta.
//!
//! - [`sandbox`]: the stand-in for Meta's Graph API (`cita-sandbox`);
//! - [`chat`]: the person's side of a chat, over the ingress and the sandbox;
//! - [`script`]: a scripted conversation that checks its booking landed (`make demo SCRIPT=…`).

pub mod chat;
pub mod sandbox;
pub mod script;

/// An HTTP client for loopback calls. reqwest is built without a bundled TLS provider
/// (see the workspace manifest), so ring is installed first, as outbound does.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// The app secret that signs webhooks, as the ingress reads it: the first of
/// `CITA_META_APP_SECRET`'s comma-separated secrets (the development one by default).
pub fn app_secret() -> String {
    let secrets = std::env::var("CITA_META_APP_SECRET").unwrap_or_else(|_| "dev-app-secret".into());
    secrets
        .split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// A `messages` notification for the business number `phone_number_id`, as Meta posts
/// it: one entry with one change whose value is `value` (messages, contacts, statuses).
pub fn notification(phone_number_id: &str, mut value: serde_json::Value) -> serde_json::Value {
    value["messaging_product"] = "whatsapp".into();
    value["metadata"] = serde_json::json!({
        "display_phone_number": "525500000001",
        "phone_number_id": phone_number_id,
    });
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "sandbox", "changes": [{"field": "messages", "value": value}]}],
    })
}

/// Posts a webhook body to the ingress, signed with `app_secret` as Meta signs it.
pub async fn post_signed(
    http: &reqwest::Client,
    ingress: &str,
    app_secret: &str,
    body: &serde_json::Value,
) -> Result<reqwest::Response, reqwest::Error> {
    let body = serde_json::to_vec(body).expect("a webhook serializes");
    http.post(ingress)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            cita_shared::whatsapp::signature::sign(app_secret, &body),
        )
        .body(body)
        .send()
        .await
}

/// The `--flag value` pairs of the command line, in order.
pub fn flags() -> Result<Vec<(String, String)>, String> {
    let mut args = std::env::args().skip(1);
    let mut pairs = Vec::new();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        pairs.push((flag, value));
    }
    Ok(pairs)
}
