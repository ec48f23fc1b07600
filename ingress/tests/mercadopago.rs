//! Mercado Pago's notifications on their own route: a valid `x-signature` over the query's
//! `data.id`, the request id and a recent timestamp publishes the body to
//! `payments.notifications` with the signed id beside it; anything else publishes nothing.

mod common;

use cita_ingress::mercadopago::{DATA_ID_HEADER, TYPE_HEADER};
use cita_shared::{
    amqp::topology::{CONVERSATION_INBOUND, PAYMENTS_NOTIFICATIONS},
    payments::signature::{Signed, sign},
};
use common::{MERCADOPAGO_SECRET, Options, TestIngress};
use hyper::StatusCode;
use lapin::types::AMQPValue;

const PATH: &str = "/webhooks/mercadopago?data.id=1325687549&type=payment";
const REQUEST_ID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
const BODY: &str = r#"{"action":"payment.updated","api_version":"v1","data":{"id":"1325687549"},"date_created":"2026-12-07T10:00:00Z","id":123456,"live_mode":true,"type":"payment","user_id":"2025436155"}"#;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn signature(secret: &str, data_id: &str, ts: i64) -> String {
    sign(
        secret,
        Signed {
            data_id: Some(data_id),
            request_id: Some(REQUEST_ID),
        },
        ts,
    )
}

fn header(properties: &lapin::BasicProperties, name: &str) -> String {
    match properties.headers().as_ref().unwrap().inner().get(name) {
        Some(AMQPValue::LongString(value)) => value.to_string(),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn a_signed_notification_is_published_apart_with_its_signed_payment_id() {
    let ingress = TestIngress::start().await;
    let signed = signature(MERCADOPAGO_SECRET, "1325687549", now());
    let (status, _) = ingress
        .post_to(
            PATH,
            &[("x-signature", &signed), ("x-request-id", REQUEST_ID)],
            BODY.as_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let published = ingress.broker.drain(PAYMENTS_NOTIFICATIONS).await;
    assert_eq!(published.len(), 1);
    let delivery = &published[0].delivery;
    assert_eq!(delivery.data, BODY.as_bytes());
    assert_eq!(delivery.routing_key.as_str(), "mercadopago");
    assert_eq!(header(&delivery.properties, DATA_ID_HEADER), "1325687549");
    assert_eq!(header(&delivery.properties, TYPE_HEADER), "payment");
    assert!(
        ingress.inbound().await.is_empty(),
        "no WhatsApp consumer sees a payment"
    );
}

#[tokio::test]
async fn forged_stale_replayed_for_another_payment_or_unsigned_notifications_publish_nothing() {
    let ingress = TestIngress::start().await;
    let valid = signature(MERCADOPAGO_SECRET, "1325687549", now());
    let cases = [
        (
            "forged",
            PATH.to_owned(),
            signature("not-the-secret", "1325687549", now()),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "stale",
            PATH.to_owned(),
            signature(MERCADOPAGO_SECRET, "1325687549", now() - 301),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "another payment",
            PATH.replace("1325687549", "999"),
            valid.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "malformed",
            PATH.to_owned(),
            "sha256=abc".to_owned(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no payment id",
            "/webhooks/mercadopago?type=payment".to_owned(),
            valid.clone(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, path, signature, expected) in cases {
        let (status, _) = ingress
            .post_to(
                &path,
                &[("x-signature", &signature), ("x-request-id", REQUEST_ID)],
                BODY.as_bytes(),
            )
            .await;
        assert_eq!(status, expected, "{what}");
    }
    let (unsigned, _) = ingress.post_to(PATH, &[], BODY.as_bytes()).await;
    assert_eq!(unsigned, StatusCode::UNAUTHORIZED);
    assert_eq!(ingress.broker.count(PAYMENTS_NOTIFICATIONS).await, 0);
    assert_eq!(ingress.broker.count(CONVERSATION_INBOUND).await, 0);
    let (_, metrics) = ingress.admin_get("/metrics").await;
    assert!(
        metrics.contains("outcome=\"signature_stale\"")
            && metrics.contains("outcome=\"signature_mismatch\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn without_a_secret_the_route_does_not_exist() {
    let ingress = TestIngress::start_with(Options {
        mercadopago_secrets: String::new(),
        ..Options::default()
    })
    .await;
    let signed = signature(MERCADOPAGO_SECRET, "1325687549", now());
    let (status, _) = ingress
        .post_to(
            PATH,
            &[("x-signature", &signed), ("x-request-id", REQUEST_ID)],
            BODY.as_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(ingress.broker.count(PAYMENTS_NOTIFICATIONS).await, 0);
}
