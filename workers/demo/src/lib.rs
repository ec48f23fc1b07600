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
