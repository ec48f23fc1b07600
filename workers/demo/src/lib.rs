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
