//! The `cita-ingress` binary itself: how it refuses to start, and how SIGTERM stops it.

mod common;

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use cita_shared::testing::{TestBroker, free_port};
use common::{SECRET, text_message};

#[test]
fn a_missing_secret_stops_the_binary_with_one_line_naming_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_cita-ingress"))
        .env_remove("CITA_META_APP_SECRET")
        .env("CITA_META_VERIFY_TOKEN", "token")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "cita-ingress: missing required setting CITA_META_APP_SECRET\n"
    );
}

#[tokio::test]
async fn sigterm_drains_and_exits_zero() {
    let broker = TestBroker::new().await;
    let (port, admin_port) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_cita-ingress"))
        .env("CITA_AMQP_URL", &broker.url)
        .env("CITA_AMQP_PREFIX", &broker.prefix)
        .env("CITA_META_APP_SECRET", SECRET)
        .env("CITA_META_VERIFY_TOKEN", "token")
        .env("CITA_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("CITA_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    let body = text_message(1, "hola");
    let signature = cita_shared::whatsapp::signature::sign(SECRET, body.as_bytes());
    let mut published = false;
    for _ in 0..100 {
        if post(port, &signature, &body).await.as_deref() == Some("HTTP/1.1 200 OK") {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the binary accepted a signed webhook");

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let mut status = None;
    for _ in 0..100 {
        if let Some(exited) = child.try_wait().unwrap() {
            status = Some(exited);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("cita-ingress did not exit within 10 s of SIGTERM")
    });
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        broker
            .drain(cita_shared::amqp::topology::CONVERSATION_INBOUND)
            .await
            .len(),
        1
    );
}

/// POSTs a signed body over a plain connection and returns the status line, if any.
async fn post(port: u16, signature: &str, body: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!(
        "POST /webhooks/whatsapp HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-hub-signature-256: {signature}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    response.lines().next().map(str::to_owned)
}
