//! Every payload shape of the WhatsApp reference §3, parsed item by item.

use cita_shared::whatsapp::webhook::{
    Content, DeliveryStatus, Item, MediaKind, PayloadError, parse,
};
use serde_json::{Value, json};

fn envelope(field: &str, value: Value) -> Vec<u8> {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] =
        json!({"display_phone_number": "15550783881", "phone_number_id": "106540352242922"});
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}]
    }))
    .unwrap()
}

fn message(kind: &str, body: Value) -> Value {
    let mut m =
        json!({"from": "5215512345678", "id": "wamid.X", "timestamp": "1697043223", "type": kind});
    m[kind] = body;
    m
}

fn one_content(message: Value) -> Content {
    let items = parse(&envelope(
        "messages",
        json!({"contacts": [{"profile": {"name": "Ana"}, "wa_id": "5215512345678"}], "messages": [message]}),
    ))
    .unwrap();
    match items.as_slice() {
        [Item::Message(m)] => m.content.clone(),
        other => panic!("expected one message, got {other:?}"),
    }
}

#[test]
fn a_text_message_carries_tenant_sender_profile_and_time() {
    let body = envelope(
        "messages",
        json!({
            "contacts": [{"profile": {"name": " Sheena Nelson "}, "wa_id": "16505551234", "user_id": "US.13491208655302741918"}],
            "messages": [{"from": "16505551234", "id": "wamid.HBg=", "timestamp": "1749416383",
                          "type": "text", "text": {"body": "¿Tienen citas? 💈"},
                          "context": {"from": "15550783881", "id": "wamid.QUOTED"}}]
        }),
    );
    let items = parse(&body).unwrap();
    let [Item::Message(m)] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(m.phone_number_id, "106540352242922");
    assert_eq!(m.wamid, "wamid.HBg=");
    assert_eq!(m.from, "16505551234");
    assert_eq!(m.user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!(m.profile_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(m.timestamp.as_second(), 1749416383);
    assert_eq!(m.reply_to.as_deref(), Some("wamid.QUOTED"));
    assert_eq!(m.content.text(), Some("¿Tienen citas? 💈"));
}

#[test]
fn replies_to_buttons_lists_and_template_buttons_are_choices() {
    let button = one_content(message(
        "interactive",
        json!({"type": "button_reply", "button_reply": {"id": "slot_1030", "title": "10:30"}}),
    ));
    assert_eq!(
        button,
        Content::Choice {
            id: "slot_1030".into(),
            title: "10:30".into()
        }
    );
    let row = one_content(message(
        "interactive",
        json!({"type": "list_reply", "list_reply": {"id": "svc_corte", "title": "Corte de cabello", "description": "45 min"}}),
    ));
    assert_eq!(row.text(), Some("Corte de cabello"));
    let template = one_content(message(
        "button",
        json!({"payload": "CONFIRM:apt_123", "text": "Confirmar"}),
    ));
    assert_eq!(
        template,
        Content::Choice {
            id: "CONFIRM:apt_123".into(),
            title: "Confirmar".into()
        }
    );
    let flow = one_content(message(
        "interactive",
        json!({"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}),
    ));
    assert_eq!(flow.kind(), "unsupported");
}

#[test]
fn media_location_contacts_reactions_and_system_messages_are_read() {
    let image = one_content(message(
        "image",
        json!({"id": "65463453", "mime_type": "image/jpeg", "sha256": "x", "caption": "mi comprobante"}),
    ));
    assert_eq!(
        image,
        Content::Media {
            kind: MediaKind::Image,
            media_id: "65463453".into(),
            caption: Some("mi comprobante".into()),
            mime_type: Some("image/jpeg".into())
        }
    );
    assert_eq!(image.text(), None);
    for kind in ["audio", "video", "document", "sticker"] {
        let media = one_content(message(kind, json!({"id": "1", "mime_type": "x"})));
        assert_eq!(media.kind(), kind);
    }
    let place = one_content(message(
        "location",
        json!({"latitude": 19.4326, "longitude": -99.1332, "name": "Zócalo", "address": "Centro"}),
    ));
    assert_eq!(place.body().as_deref(), Some("Zócalo, Centro"));
    let mut card = message("contacts", Value::Null);
    card["contacts"] = json!([{"name": {"formatted_name": "Ana Ruiz"}, "phones": []}]);
    assert_eq!(one_content(card), Content::Contacts { count: 1 });
    assert_eq!(
        one_content(message(
            "reaction",
            json!({"message_id": "wamid.R", "emoji": "👍"})
        )),
        Content::Reaction {
            to: "wamid.R".into(),
            emoji: Some("👍".into())
        }
    );
    assert_eq!(
        one_content(message(
            "reaction",
            json!({"message_id": "wamid.R", "emoji": ""})
        )),
        Content::Reaction {
            to: "wamid.R".into(),
            emoji: None
        }
    );
    let system = one_content(message(
        "system",
        json!({"type": "user_changed_number", "body": "User A changed number", "wa_id": "5215587654321"}),
    ));
    assert_eq!(system.kind(), "system");
}

#[test]
fn unsupported_and_unknown_types_are_kept_as_unsupported() {
    let mut unsupported = message("unsupported", Value::Null);
    unsupported["errors"] = json!([{"code": 131051, "title": "Message type unknown",
        "error_data": {"details": "Message type is currently not supported."}}]);
    assert_eq!(
        one_content(unsupported),
        Content::Unsupported {
            kind: "unsupported".into(),
            detail: Some("Message type is currently not supported.".into())
        }
    );
    assert_eq!(
        one_content(message("poll_v2", json!({}))).kind(),
        "unsupported"
    );
    let order = one_content(message(
        "order",
        json!({"catalog_id": "1", "product_items": []}),
    ));
    assert_eq!(order.kind(), "unsupported");
}

#[test]
fn statuses_and_value_level_errors_are_items() {
    let body = envelope(
        "messages",
        json!({
            "statuses": [
                {"id": "wamid.A", "status": "delivered", "timestamp": "1750857384", "recipient_id": "5215512345678"},
                {"id": "wamid.B", "status": "failed", "timestamp": "1689380458", "recipient_id": "5215512345678",
                 "errors": [{"code": 131047, "title": "Re-engagement message",
                             "error_data": {"details": "more than 24 hours"}}]},
                {"id": "wamid.C", "status": "deleted", "timestamp": "1689380458"}
            ],
            "errors": [{"code": 131000, "title": "Something went wrong",
                        "error_data": {"details": "Unsupported webhook payload"}}]
        }),
    );
    let items = parse(&body).unwrap();
    assert_eq!(items.len(), 4, "{items:?}");
    let Item::Status(delivered) = &items[0] else {
        panic!()
    };
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    let Item::Status(failed) = &items[1] else {
        panic!()
    };
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(failed.errors[0].code, 131047);
    assert_eq!(
        failed.errors[0].detail.as_deref(),
        Some("more than 24 hours")
    );
    assert!(matches!(&items[2], Item::Malformed { reason, .. } if reason.contains("deleted")));
    let Item::Errors { errors, .. } = &items[3] else {
        panic!()
    };
    assert_eq!(errors[0].code, 131000);
}

#[test]
fn coexistence_echoes_and_other_fields() {
    let echo = envelope(
        "smb_message_echoes",
        json!({"message_echoes": [{"from": "5215511112222", "to": "5215512345678", "id": "wamid.ECHO",
              "timestamp": "1697043223", "type": "text", "text": {"body": "Hola, te atiendo yo"}}]}),
    );
    let items = parse(&echo).unwrap();
    let [Item::Echo(e)] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(e.to, "5215512345678");
    assert_eq!(e.content.text(), Some("Hola, te atiendo yo"));
    let history = envelope("history", json!({"history": [{"threads": []}]}));
    assert!(
        matches!(parse(&history).unwrap().as_slice(), [Item::Ignored { field, .. }] if field == "history")
    );
}

#[test]
fn one_bad_item_does_not_cost_the_others() {
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [
                {"field": "messages", "value": {"metadata": {"phone_number_id": "P1"},
                    "messages": [
                        {"from": "521", "id": "wamid.1", "timestamp": "1", "type": "text", "text": {"body": "uno"}},
                        {"from": "521", "id": "wamid.2", "type": "text", "text": {"body": "sin hora"}},
                        {"from": "521", "id": "wamid.3", "timestamp": "3", "type": "text"}
                    ]}},
                {"field": "messages", "value": {"messages": []}}
            ]},
            {"id": "2"},
            {"id": "3", "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "P2"},
                "messages": [{"from": "57", "id": "wamid.4", "timestamp": "4", "type": "text", "text": {"body": "cuatro"}}]}}]}
        ]
    }))
    .unwrap();
    let items = parse(&body).unwrap();
    let good: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Message(m) => Some(m.wamid.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(good, ["wamid.1", "wamid.4"]);
    let bad = items
        .iter()
        .filter(|i| matches!(i, Item::Malformed { .. }))
        .count();
    assert_eq!(bad, 4, "{items:?}");
}

#[test]
fn bodies_that_are_not_notifications_are_errors() {
    assert!(matches!(parse(b"{not json"), Err(PayloadError::NotJson(_))));
    assert!(matches!(parse(b"[]"), Err(PayloadError::NotWhatsApp(_))));
    assert!(matches!(
        parse(br#"{"object":"page","entry":[]}"#),
        Err(PayloadError::NotWhatsApp(_))
    ));
    assert!(matches!(
        parse(br#"{"object":"whatsapp_business_account"}"#),
        Err(PayloadError::NotWhatsApp(_))
    ));
}
