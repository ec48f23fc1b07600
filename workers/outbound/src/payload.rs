//! Graph API request bodies (reference §4) from the fleet's send commands.

use cita_shared::contracts::outbound::{
    Buttons, List, Message, Parameter, Template, TemplateButton,
};
use serde_json::{Map, Value, json};

/// The body of `POST /{phone_number_id}/messages` for `message` to `to`.
pub fn body(to: &str, reply_to: Option<&str>, message: &Message) -> Value {
    let (kind, content) = match message {
        Message::ReadReceipt { message_id, typing } => {
            let mut receipt = json!({
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": message_id,
            });
            if *typing {
                receipt["typing_indicator"] = json!({"type": "text"});
            }
            return receipt;
        }
        Message::Text { body, preview_url } => {
            ("text", json!({"preview_url": preview_url, "body": body}))
        }
        Message::Template(template) => ("template", template_object(template)),
        Message::Buttons(buttons) => ("interactive", buttons_object(buttons)),
        Message::List(list) => ("interactive", list_object(list)),
    };
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    });
    body[kind] = content;
    if let Some(id) = reply_to {
        body["context"] = json!({"message_id": id});
    }
    body
}

fn template_object(template: &Template) -> Value {
    let mut components = Vec::new();
    for (kind, parameters) in [("header", &template.header), ("body", &template.body)] {
        if !parameters.is_empty() {
            components.push(json!({
                "type": kind,
                "parameters": parameters.iter().map(text_parameter).collect::<Vec<_>>(),
            }));
        }
    }
    for button in &template.buttons {
        components.push(match button {
            TemplateButton::QuickReply { index, payload } => json!({
                "type": "button", "sub_type": "quick_reply", "index": index.to_string(),
                "parameters": [{"type": "payload", "payload": payload}],
            }),
            TemplateButton::Url { index, text } => json!({
                "type": "button", "sub_type": "url", "index": index.to_string(),
                "parameters": [{"type": "text", "text": text}],
            }),
        });
    }
    let mut object = json!({
        "name": template.name,
        "language": {"code": template.language},
    });
    if !components.is_empty() {
        object["components"] = Value::Array(components);
    }
    object
}

fn text_parameter(parameter: &Parameter) -> Value {
    let mut value = json!({"type": "text", "text": parameter.text});
    if let Some(name) = &parameter.name {
        value["parameter_name"] = json!(name);
    }
    value
}

/// Header (text), body and footer shared by both interactive kinds.
fn frame(
    kind: &str,
    header: &Option<String>,
    body: &str,
    footer: &Option<String>,
) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("type".into(), json!(kind));
    if let Some(header) = header {
        object.insert("header".into(), json!({"type": "text", "text": header}));
    }
    object.insert("body".into(), json!({"text": body}));
    if let Some(footer) = footer {
        object.insert("footer".into(), json!({"text": footer}));
    }
    object
}

fn buttons_object(buttons: &Buttons) -> Value {
    let mut object = frame("button", &buttons.header, &buttons.body, &buttons.footer);
    let choices: Vec<Value> = buttons
        .buttons
        .iter()
        .map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}}))
        .collect();
    object.insert("action".into(), json!({"buttons": choices}));
    Value::Object(object)
}

fn list_object(list: &List) -> Value {
    let mut object = frame("list", &list.header, &list.body, &list.footer);
    let sections: Vec<Value> = list
        .sections
        .iter()
        .map(|section| {
            let rows: Vec<Value> = section
                .rows
                .iter()
                .map(|row| {
                    let mut value = json!({"id": row.id, "title": row.title});
                    if let Some(description) = &row.description {
                        value["description"] = json!(description);
                    }
                    value
                })
                .collect();
            let mut value = json!({"rows": rows});
            if let Some(title) = &section.title {
                value["title"] = json!(title);
            }
            value
        })
        .collect();
    object.insert(
        "action".into(),
        json!({"button": list.button, "sections": sections}),
    );
    Value::Object(object)
}
