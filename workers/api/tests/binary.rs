//! The `cita-api` binary: it refuses to start without its signing keys, before binding
//! anything, and serves `/v1` and its admin port when it has them.

mod common;

use std::process::{Command, Stdio};

use cita_shared::testing::{TestBroker, TestDb, eventually, free_port};
use common::{PATIENCE, TOKEN_KEYS};

#[test]
fn missing_token_keys_stop_the_binary_with_one_line_naming_them() {
    let output = Command::new(env!("CARGO_BIN_EXE_cita-api"))
        .env_remove("CITA_API_TOKEN_KEYS")
        // A port `make run` may hold: nothing is bound before the settings are checked.
        .env("CITA_LISTEN_ADDR", "127.0.0.1:8081")
        .env("CITA_ADMIN_ADDR", "127.0.0.1:9106")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "cita-api: missing required setting CITA_API_TOKEN_KEYS\n"
    );
}

#[tokio::test]
async fn the_binary_serves_v1_and_stops_on_sigterm() {
    let db = TestDb::migrated().await;
    let broker = TestBroker::new().await;
    let (port, admin) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_cita-api"))
        .env("CITA_DATABASE_URL", db.url.expose())
        .env("CITA_AMQP_URL", &broker.url)
        .env("CITA_AMQP_PREFIX", &broker.prefix)
        .env("CITA_API_TOKEN_KEYS", TOKEN_KEYS)
        .env("CITA_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("CITA_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    cita_shared::tls::install_provider();
    let http = reqwest::Client::new();
    eventually(PATIENCE, "cita-api is ready", || {
        let http = http.clone();
        async move {
            let ready = http
                .get(format!("http://127.0.0.1:{admin}/readyz"))
                .send()
                .await
                .ok()?;
            ready.status().is_success().then_some(())
        }
    })
    .await;
    let me = http
        .get(format!("http://127.0.0.1:{port}/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(me.headers()["content-type"], "application/problem+json");

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
}
