//! The webhook endpoint against a real RabbitMQ: what is accepted arrives byte for byte,
//! what is refused publishes nothing.

mod common;

use cita_shared::whatsapp::signature::sign;
use common::{Options, SECRET, TestIngress, VERIFY_TOKEN, WEBHOOK_URL_PATH, text_message};
use hyper::StatusCode;
use lapin::types::AMQPValue;

#[tokio::test]
async fn a_signed_payload_arrives_byte_identical_with_its_headers() {
    let ingress = TestIngress::start().await;
    let body = text_message(1, "Quiero una cita para un corte");

    let status = ingress.post_signed(&body).await;

    assert_eq!(status, StatusCode::OK);
    let messages = ingress.inbound().await;
    assert_eq!(messages.len(), 1);
    let delivery = &messages[0].delivery;
    assert_eq!(delivery.data, body.as_bytes());
    assert_eq!(delivery.routing_key.as_str(), "whatsapp");
    assert_eq!(delivery.properties.delivery_mode(), &Some(2), "persistent");
    let headers = delivery.properties.headers().as_ref().expect("headers");
    let request_id = match headers.inner().get("x-request-id") {
        Some(AMQPValue::LongString(id)) => id.to_string(),
        other => panic!("x-request-id: {other:?}"),
    };
    assert_eq!(
        uuid::Uuid::parse_str(&request_id)
            .unwrap()
            .get_version_num(),
        4
    );
    assert_eq!(
        delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string()),
        Some(request_id)
    );
    let received_at = match headers.inner().get("x-received-at-ms") {
        Some(AMQPValue::LongLongInt(ms)) => *ms,
        other => panic!("x-received-at-ms: {other:?}"),
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (now_ms - 60_000..=now_ms).contains(&received_at),
        "{received_at} vs {now_ms}"
    );
}

#[tokio::test]
async fn spanish_accents_and_emoji_escaped_as_meta_sends_them_verify() {
    let ingress = TestIngress::start().await;
    // Meta escapes non-ASCII as \uXXXX (emoji as surrogate pairs) and signs those bytes.
    let escaped = text_message(
        2,
        r"Quisiera una cita ma\u00f1ana, \u00bfa qu\u00e9 hora? \ud83d\udc88\ud83d\ude4f",
    );
    // A body with raw UTF-8 is signed over its own bytes too.
    let raw = text_message(3, "Quisiera una cita mañana, ¿a qué hora? 💈🙏");

    assert_eq!(ingress.post_signed(&escaped).await, StatusCode::OK);
    assert_eq!(ingress.post_signed(&raw).await, StatusCode::OK);

    let bodies: Vec<Vec<u8>> = ingress
        .inbound()
        .await
        .into_iter()
        .map(|m| m.delivery.data)
        .collect();
    assert_eq!(bodies, [escaped.into_bytes(), raw.into_bytes()]);
}

#[tokio::test]
async fn every_bad_signature_is_refused_and_publishes_nothing() {
    let ingress = TestIngress::start().await;
    let body = text_message(4, "hola");
    let good = sign(SECRET, body.as_bytes());
    let hex = good.trim_start_matches("sha256=");
    let variants: Vec<(&str, Option<String>)> = vec![
        ("missing header", None),
        ("no sha256= prefix", Some(hex.to_owned())),
        ("sha1 prefix", Some(format!("sha1={hex}"))),
        ("bad hex", Some(format!("sha256=zz{}", &hex[2..]))),
        ("too short", Some(format!("sha256={}", &hex[..63]))),
        ("too long", Some(format!("sha256={hex}ab"))),
        (
            "another body",
            Some(sign(SECRET, b"{\"object\":\"other\"}")),
        ),
        (
            "another secret",
            Some(sign("not-the-secret", body.as_bytes())),
        ),
    ];

    for (what, signature) in &variants {
        let status = ingress.post(body.as_bytes(), signature.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
    }

    assert!(ingress.inbound().await.is_empty());
    let (_, metrics) = ingress.admin_get("/metrics").await;
    assert!(
        metrics.contains(r#"cita_ingress_requests_total{outcome="signature_missing"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cita_ingress_requests_total{outcome="signature_malformed"} 5"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cita_ingress_requests_total{outcome="signature_mismatch"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_secret_being_rotated_in_works_alongside_the_old_one() {
    let rotating = TestIngress::start_with(Options {
        app_secrets: "old-secret,new-secret".into(),
        ..Default::default()
    })
    .await;
    let body = text_message(5, "hola");

    assert_eq!(
        rotating
            .post(body.as_bytes(), Some(&sign("old-secret", body.as_bytes())))
            .await,
        StatusCode::OK
    );
    assert_eq!(
        rotating
            .post(body.as_bytes(), Some(&sign("new-secret", body.as_bytes())))
            .await,
        StatusCode::OK
    );
    assert_eq!(rotating.inbound().await.len(), 2);

    // Once the rotation is over and the old secret removed, it no longer verifies.
    let rotated = TestIngress::start_with(Options {
        app_secrets: "new-secret".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(
        rotated
            .post(body.as_bytes(), Some(&sign("old-secret", body.as_bytes())))
            .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        rotated
            .post(body.as_bytes(), Some(&sign("new-secret", body.as_bytes())))
            .await,
        StatusCode::OK
    );
    assert_eq!(rotated.inbound().await.len(), 1);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413_and_not_published() {
    let ingress = TestIngress::start_with(Options {
        max_body_bytes: 1024,
        ..Default::default()
    })
    .await;
    let big = format!("{{\"padding\":\"{}\"}}", "x".repeat(2048));
    let exactly_at_limit = format!("{{\"padding\":\"{}\"}}", "x".repeat(1024 - 14));
    assert_eq!(exactly_at_limit.len(), 1024);

    assert_eq!(
        ingress.post_signed(&big).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(ingress.post_signed(&exactly_at_limit).await, StatusCode::OK);

    let bodies: Vec<Vec<u8>> = ingress
        .inbound()
        .await
        .into_iter()
        .map(|m| m.delivery.data)
        .collect();
    assert_eq!(bodies, [exactly_at_limit.into_bytes()]);
}

#[tokio::test]
async fn an_oversized_chunked_body_is_refused_without_a_content_length() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ingress = TestIngress::start_with(Options {
        max_body_bytes: 1024,
        ..Default::default()
    })
    .await;
    let body = vec![b'x'; 4096];
    let signature = sign(SECRET, &body);
    let mut stream = tokio::net::TcpStream::connect(ingress.addr).await.unwrap();
    let head = format!(
        "POST {WEBHOOK_URL_PATH} HTTP/1.1\r\nhost: x\r\nx-hub-signature-256: {signature}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(512) {
        stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        stream.write_all(chunk).await.unwrap();
        stream.write_all(b"\r\n").await.unwrap();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;

    let mut response = vec![0u8; 1024];
    let n = stream.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(ingress.inbound().await.is_empty());
}

#[tokio::test]
async fn the_subscription_handshake_echoes_the_challenge_only_for_the_right_token() {
    let ingress = TestIngress::start().await;
    let path = |mode: &str, token: &str| {
        format!(
            "{WEBHOOK_URL_PATH}?hub.mode={mode}&hub.challenge=1158201444&hub.verify_token={token}"
        )
    };

    let (status, body) = ingress.get(&path("subscribe", VERIFY_TOKEN)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1158201444"));

    let (status, _) = ingress.get(&path("subscribe", "wrong-token")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ingress.get(&path("unsubscribe", VERIFY_TOKEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ingress.get(WEBHOOK_URL_PATH).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn other_paths_are_404_and_other_methods_405() {
    let ingress = TestIngress::start().await;

    let (status, _) = ingress.get("/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ingress.get("/webhooks/whatsapp/extra").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let request = hyper::Request::put(format!("http://{}{WEBHOOK_URL_PATH}", ingress.addr))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, POST");
    assert!(ingress.inbound().await.is_empty());
}

#[tokio::test]
async fn the_admin_port_reports_health_readiness_and_metrics() {
    let ingress = TestIngress::start().await;
    ingress.post_signed(&text_message(6, "hola")).await;

    assert_eq!(ingress.admin_get("/healthz").await.0, StatusCode::OK);
    assert_eq!(ingress.admin_get("/readyz").await.0, StatusCode::OK);
    let (status, metrics) = ingress.admin_get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains(r#"cita_ingress_requests_total{outcome="published"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("cita_ingress_publish_confirm_seconds_count 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cita_ingress_in_flight_requests 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_missing_secret_stops_the_ingress_before_it_serves() {
    let settings = cita_shared::config::Settings::from_env(
        cita_shared::config::Component::Ingress,
        [("CITA_META_VERIFY_TOKEN".to_string(), "t".to_string())].into(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();

    let error = cita_ingress::serve(&settings, listener, admin, Default::default())
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        "missing required setting CITA_META_APP_SECRET"
    );
}
