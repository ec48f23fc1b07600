//! What reaches Meta, exactly, and what is recorded: each message kind's JSON, the
//! 24-hour window, idempotency, order, and the forward-only status rule.

mod common;

use std::time::Duration;

use cita_shared::{
    contracts::{
        events::{Event, FailureReason},
        outbound::{
            Author, Buttons, Choice, List, Message, Parameter, Purpose, Row, Section, Template,
            TemplateButton,
        },
    },
    testing::eventually,
};
use common::{CUSTOMER, PATIENCE, TOKEN, World, template};
use serde_json::json;

#[tokio::test]
async fn each_message_kind_goes_out_as_exact_graph_api_json() {
    let mut world = World::new().await;
    world.start().await;

    let mut text = world.text("¡Listo! Tu cita quedó el martes 14 a las 10:30.");
    text.reply_to = Some("wamid.INBOUND1".into());
    let mut templated = world.text("");
    templated.purpose = Purpose::Reminder;
    templated.message = Message::Template(Template {
        name: "recordatorio_cita".into(),
        language: "es_MX".into(),
        header: vec![Parameter {
            name: None,
            text: "Barbería El Centro".into(),
        }],
        body: vec![
            Parameter {
                name: Some("nombre".into()),
                text: "Ana".into(),
            },
            Parameter {
                name: Some("fecha".into()),
                text: "martes 14 de octubre, 10:30".into(),
            },
        ],
        buttons: vec![
            TemplateButton::QuickReply {
                index: 0,
                payload: "CONFIRM:apt_123".into(),
            },
            TemplateButton::Url {
                index: 1,
                text: "apt_123".into(),
            },
        ],
    });
    let mut buttons = world.text("");
    buttons.message = Message::Buttons(Buttons {
        header: Some("Horarios disponibles".into()),
        body: "¿Cuál prefieres para el martes 14?".into(),
        footer: Some("Responde con un botón".into()),
        buttons: vec![
            Choice {
                id: "slot_1030".into(),
                title: "10:30".into(),
            },
            Choice {
                id: "more".into(),
                title: "Otro horario".into(),
            },
        ],
    });
    let mut list = world.text("");
    list.message = Message::List(List {
        header: None,
        body: "Elige el servicio que quieres agendar".into(),
        footer: Some("Precios en MXN".into()),
        button: "Ver servicios".into(),
        sections: vec![Section {
            title: None,
            rows: vec![
                Row {
                    id: "svc_corte".into(),
                    title: "Corte".into(),
                    description: Some("45 min · $250".into()),
                },
                Row {
                    id: "svc_barba".into(),
                    title: "Barba".into(),
                    description: None,
                },
            ],
        }],
    });
    let mut receipt = world.text("");
    receipt.message = Message::ReadReceipt {
        message_id: "wamid.INBOUND2".into(),
        typing: true,
    };

    let expected = [
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
               "type": "text", "context": {"message_id": "wamid.INBOUND1"},
               "text": {"preview_url": false, "body": "¡Listo! Tu cita quedó el martes 14 a las 10:30."}}),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
               "type": "template", "template": {
                   "name": "recordatorio_cita", "language": {"code": "es_MX"},
                   "components": [
                       {"type": "header", "parameters": [{"type": "text", "text": "Barbería El Centro"}]},
                       {"type": "body", "parameters": [
                           {"type": "text", "parameter_name": "nombre", "text": "Ana"},
                           {"type": "text", "parameter_name": "fecha", "text": "martes 14 de octubre, 10:30"}]},
                       {"type": "button", "sub_type": "quick_reply", "index": "0",
                        "parameters": [{"type": "payload", "payload": "CONFIRM:apt_123"}]},
                       {"type": "button", "sub_type": "url", "index": "1",
                        "parameters": [{"type": "text", "text": "apt_123"}]}]}}),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
               "type": "interactive", "interactive": {
                   "type": "button",
                   "header": {"type": "text", "text": "Horarios disponibles"},
                   "body": {"text": "¿Cuál prefieres para el martes 14?"},
                   "footer": {"text": "Responde con un botón"},
                   "action": {"buttons": [
                       {"type": "reply", "reply": {"id": "slot_1030", "title": "10:30"}},
                       {"type": "reply", "reply": {"id": "more", "title": "Otro horario"}}]}}}),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
               "type": "interactive", "interactive": {
                   "type": "list",
                   "body": {"text": "Elige el servicio que quieres agendar"},
                   "footer": {"text": "Precios en MXN"},
                   "action": {"button": "Ver servicios", "sections": [{"rows": [
                       {"id": "svc_corte", "title": "Corte", "description": "45 min · $250"},
                       {"id": "svc_barba", "title": "Barba"}]}]}}}),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.INBOUND2",
               "typing_indicator": {"type": "text"}}),
    ];
    let commands = [&text, &templated, &buttons, &list, &receipt];
    for command in commands {
        world.publish(command).await;
    }
    let sends = world.graph.wait_for_sends(5, PATIENCE).await;
    for (send, expected) in sends.iter().zip(&expected) {
        assert_eq!(&send.body, expected);
        assert_eq!(send.method, "POST");
        assert_eq!(
            send.path,
            format!("/v23.0/{}/messages", world.phone_number_id)
        );
        assert_eq!(
            send.authorization.as_deref(),
            Some(&*format!("Bearer {TOKEN}"))
        );
    }

    let row = world.wait_status(text.command_id, "sent").await;
    assert!(row.wa_message_id.unwrap().starts_with("wamid.fake."));
    assert_eq!(row.content_kind, "text");
    assert_eq!(row.purpose.as_deref(), Some("reply"));
    assert_eq!(row.attempts, 1);
    let row = world.wait_status(templated.command_id, "sent").await;
    assert_eq!(
        (row.content_kind.as_str(), row.purpose.as_deref()),
        ("template", Some("reminder"))
    );
    assert!(
        world.row(receipt.command_id).await.is_none(),
        "read receipts are not recorded as messages"
    );
    world.stop().await;
}

#[tokio::test]
async fn the_window_decides_between_free_form_the_fallback_and_failing() {
    let mut world = World::new().await;
    let failures = world.listen("message.failed").await;
    world.start().await;

    // Just inside the window: the text goes.
    world.last_inbound("23 hours 59 minutes").await;
    let inside = world.text("dentro de la ventana");
    world.publish(&inside).await;
    world.wait_status(inside.command_id, "sent").await;

    // Just outside: the fallback template goes instead.
    world.last_inbound("24 hours 1 minute").await;
    let mut with_fallback = world.text("fuera de la ventana");
    with_fallback.purpose = Purpose::Notification;
    with_fallback.fallback = Some(template("cita_confirmada"));
    world.publish(&with_fallback).await;
    let row = world.wait_status(with_fallback.command_id, "sent").await;
    assert_eq!(row.content_kind, "template");
    assert_eq!(row.body.as_deref(), Some("cita_confirmada"));

    // Outside, without a fallback: Meta is not called, the message fails.
    let without = world.text("sin plantilla");
    world.publish(&without).await;
    let row = world.wait_status(without.command_id, "failed").await;
    assert_eq!(row.error_title.as_deref(), Some("outside_window"));
    assert_eq!(row.attempts, 0);

    let event = world.next_event(&failures).await;
    assert_eq!(event.organization_id, world.organization);
    match event.event {
        Event::MessageFailed {
            command_id, reason, ..
        } => {
            assert_eq!(command_id, without.command_id);
            assert_eq!(reason, FailureReason::OutsideWindow);
        }
        other => panic!("unexpected event {other:?}"),
    }
    let sends = world.graph.sends();
    assert_eq!(sends.len(), 2, "{sends:#?}");
    assert_eq!(sends[0].body["type"], "text");
    assert_eq!(sends[1].body["type"], "template");
    assert_eq!(sends[1].body["template"]["name"], "cita_confirmada");
    world.stop().await;
}

#[tokio::test]
async fn a_sent_message_of_a_conversation_is_announced_for_the_live_view() {
    let mut world = World::new().await;
    let statuses = world.listen("message.status").await;
    world.start().await;
    let send = world.text("¡Listo!");
    world.publish(&send).await;
    world.wait_status(send.command_id, "sent").await;
    let event = world.next_event(&statuses).await;
    assert_eq!(event.organization_id, world.organization);
    let message_id: uuid::Uuid = world
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT id FROM messages WHERE command_id = $1",
            &[&send.command_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        event.event,
        Event::MessageStatus {
            conversation_id: world.conversation,
            message_id,
            status: "sent".into(),
        }
    );
    world.stop().await;
}

#[tokio::test]
async fn a_redelivered_command_is_not_sent_twice() {
    let mut world = World::new().await;
    world.start().await;
    let send = world.text("una sola vez");
    world.publish(&send).await;
    world.wait_status(send.command_id, "sent").await;
    world.publish(&send).await;
    world.publish(&send).await;
    // Wait until both duplicates were handled (an empty queue would only say they were
    // delivered), then check nothing more reached Meta.
    eventually(PATIENCE, "the duplicates are handled", || async {
        (world.handled("duplicate").await == 2).then_some(())
    })
    .await;
    assert_eq!(world.settle().await, 0, "every duplicate was handled");
    assert_eq!(world.graph.sends().len(), 1);
}

#[tokio::test]
async fn a_message_a_person_wrote_is_theirs_in_the_transcript() {
    let mut world = World::new().await;
    world.start().await;
    let assistant = world.text("Claro, te agendo.");
    let mut owner = world.text("Soy Marta, la dueña: te guardo el lugar.");
    owner.author = Some(Author::Owner);
    let mut barber = world.text("Te espero, Luis.");
    barber.author = Some(Author::Staff);
    for send in [&assistant, &owner, &barber] {
        world.publish(send).await;
    }
    let kinds = [
        world
            .wait_status(assistant.command_id, "sent")
            .await
            .sender_kind,
        world
            .wait_status(owner.command_id, "sent")
            .await
            .sender_kind,
        world
            .wait_status(barber.command_id, "sent")
            .await
            .sender_kind,
    ];
    assert_eq!(kinds, ["ai", "owner", "staff"]);
}

#[tokio::test]
async fn messages_to_one_recipient_keep_their_order() {
    let mut world = World::new().await;
    // Slow answers make concurrent sends overtake each other if nothing orders them.
    world.graph.set_latency(Duration::from_millis(40));
    world.start().await;
    let sends: Vec<_> = (1..=6)
        .map(|i| world.text(&format!("burbuja {i}")))
        .collect();
    for send in &sends {
        world.publish(send).await;
    }
    let received = world.graph.wait_for_sends(6, PATIENCE).await;
    let bodies: Vec<&str> = received
        .iter()
        .map(|r| r.body["text"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "burbuja 1",
            "burbuja 2",
            "burbuja 3",
            "burbuja 4",
            "burbuja 5",
            "burbuja 6"
        ]
    );
    world.stop().await;
}

#[tokio::test]
async fn a_message_over_whatsapp_limits_fails_without_calling_meta() {
    let mut world = World::new().await;
    world.start().await;
    let mut send = world.text("");
    send.message = Message::Buttons(Buttons {
        header: None,
        body: "¿Qué día?".into(),
        footer: None,
        buttons: ["Lunes", "Martes", "Miércoles", "Jueves"]
            .iter()
            .map(|d| Choice {
                id: d.to_lowercase(),
                title: (*d).into(),
            })
            .collect(),
    });
    world.publish(&send).await;
    let row = world.wait_status(send.command_id, "failed").await;
    assert_eq!(row.error_title.as_deref(), Some("invalid_message"));
    assert!(world.graph.sends().is_empty());
    world.stop().await;
}

#[tokio::test]
async fn statuses_only_move_forward_and_failed_is_final() {
    let world = World::new().await;
    let client = world.db.pool.get().await.unwrap();
    let insert = "INSERT INTO messages (organization_id, conversation_id, direction, sender_kind,
                                        content_kind, status, wa_message_id)
                  VALUES ($1, $2, 'outbound', 'ai', 'text', 'sent', $3)";
    let status = async |wamid: &str| -> String {
        client
            .query_one(
                "SELECT status FROM messages WHERE wa_message_id = $1",
                &[&wamid],
            )
            .await
            .unwrap()
            .get(0)
    };
    let set = async |wamid: &str, to: &str| {
        client
            .execute(
                "UPDATE messages SET status = $2 WHERE wa_message_id = $1",
                &[&wamid, &to],
            )
            .await
            .unwrap();
    };
    for wamid in ["wamid.a", "wamid.b"] {
        client
            .execute(insert, &[&world.organization, &world.conversation, &wamid])
            .await
            .unwrap();
    }
    set("wamid.a", "read").await;
    set("wamid.a", "delivered").await;
    set("wamid.a", "sent").await;
    assert_eq!(status("wamid.a").await, "read");
    set("wamid.b", "failed").await;
    set("wamid.b", "delivered").await;
    set("wamid.b", "read").await;
    assert_eq!(status("wamid.b").await, "failed");
}
