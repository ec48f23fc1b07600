//! Meta's webhook notifications (whatsapp-cloud-api reference §3), parsed item by item.
//!
//! One POST may batch several entries × changes × messages/statuses/errors. Each item is
//! parsed on its own: a malformed or unknown item becomes [`Item::Malformed`] or
//! [`Item::Ignored`] and never costs the others. Only a body that is not a WhatsApp
//! notification at all is an error.

use jiff::Timestamp;
use serde_json::Value;

pub use super::content::{Content, MediaKind};
use super::{
    content::content,
    fields::{array, required, text, timestamp},
};

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("not JSON")]
    NotJson(#[from] serde_json::Error),
    #[error("not a WhatsApp Business Account notification: {0}")]
    NotWhatsApp(&'static str),
}

/// One thing a notification says.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// Someone wrote to the business.
    Message(InboundMessage),
    /// What became of a message the business sent.
    Status(StatusUpdate),
    /// The business wrote from the WhatsApp Business app (coexistence).
    Echo(Echo),
    /// Errors Meta reports about the number, not about one message.
    Errors {
        phone_number_id: String,
        errors: Vec<GraphError>,
    },
    /// A field the conversation worker does not act on (history, contact sync, …).
    Ignored {
        phone_number_id: Option<String>,
        field: String,
    },
    /// An item that could not be read; the rest of the notification still counts.
    Malformed {
        phone_number_id: Option<String>,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// The business number that received it: the tenant.
    pub phone_number_id: String,
    pub wamid: String,
    /// The sender's `wa_id`, opaque: a phone in digits, or a business-scoped user id.
    pub from: String,
    /// The sender's business-scoped user id, when Meta sends one.
    pub user_id: Option<String>,
    /// The name on the sender's WhatsApp profile.
    pub profile_name: Option<String>,
    pub timestamp: Timestamp,
    /// The business message this one answers (a tapped button, a quoted reply).
    pub reply_to: Option<String>,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Echo {
    pub phone_number_id: String,
    pub wamid: String,
    /// The customer the business wrote to.
    pub to: String,
    pub timestamp: Timestamp,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub phone_number_id: String,
    /// The wamid of the business's message.
    pub wamid: String,
    pub status: DeliveryStatus,
    pub timestamp: Timestamp,
    pub recipient: Option<String>,
    pub errors: Vec<GraphError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    pub code: i64,
    pub title: String,
    pub detail: Option<String>,
}

/// Parses a webhook body into its items.
pub fn parse(body: &[u8]) -> Result<Vec<Item>, PayloadError> {
    let root: Value = serde_json::from_slice(body)?;
    if root.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(PayloadError::NotWhatsApp(
            "\"object\" is not \"whatsapp_business_account\"",
        ));
    }
    let entries = root
        .get("entry")
        .and_then(Value::as_array)
        .ok_or(PayloadError::NotWhatsApp("no \"entry\" array"))?;
    let mut items = Vec::new();
    for entry in entries {
        let Some(changes) = entry.get("changes").and_then(Value::as_array) else {
            items.push(malformed(None, "an entry without a \"changes\" array"));
            continue;
        };
        for change in changes {
            parse_change(change, &mut items);
        }
    }
    Ok(items)
}

fn parse_change(change: &Value, items: &mut Vec<Item>) {
    let field = change.get("field").and_then(Value::as_str).unwrap_or("");
    let value = change.get("value").unwrap_or(&Value::Null);
    let Some(phone_number_id) = value
        .pointer("/metadata/phone_number_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        items.push(match field {
            "messages" | "smb_message_echoes" => {
                malformed(None, "a change without metadata.phone_number_id")
            }
            _ => Item::Ignored {
                phone_number_id: None,
                field: field.to_owned(),
            },
        });
        return;
    };
    let number = Some(phone_number_id.clone());
    match field {
        "messages" => {
            let contacts = array(value, "contacts");
            for message in array(value, "messages") {
                items.push(
                    inbound(message, &phone_number_id, contacts)
                        .map(Item::Message)
                        .unwrap_or_else(|reason| malformed(number.clone(), &reason)),
                );
            }
            for status in array(value, "statuses") {
                items.push(
                    status_update(status, &phone_number_id)
                        .map(Item::Status)
                        .unwrap_or_else(|reason| malformed(number.clone(), &reason)),
                );
            }
            let errors = array(value, "errors");
            if !errors.is_empty() {
                items.push(Item::Errors {
                    phone_number_id,
                    errors: errors.iter().map(graph_error).collect(),
                });
            }
        }
        "smb_message_echoes" => {
            for echo in array(value, "message_echoes") {
                items.push(
                    echo_of(echo, &phone_number_id)
                        .map(Item::Echo)
                        .unwrap_or_else(|reason| malformed(number.clone(), &reason)),
                );
            }
        }
        other => items.push(Item::Ignored {
            phone_number_id: number,
            field: other.to_owned(),
        }),
    }
}

fn inbound(
    message: &Value,
    phone_number_id: &str,
    contacts: &[Value],
) -> Result<InboundMessage, String> {
    let wamid = required(message, "id")?;
    let from = required(message, "from")?;
    let contact = contacts
        .iter()
        .find(|c| c.get("wa_id").and_then(Value::as_str) == Some(from.as_str()));
    Ok(InboundMessage {
        phone_number_id: phone_number_id.to_owned(),
        user_id: contact.and_then(|c| text(c, "user_id")),
        profile_name: contact
            .and_then(|c| c.pointer("/profile/name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        timestamp: timestamp(message)?,
        reply_to: message
            .pointer("/context/id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        content: content(message)?,
        wamid,
        from,
    })
}

fn echo_of(echo: &Value, phone_number_id: &str) -> Result<Echo, String> {
    Ok(Echo {
        phone_number_id: phone_number_id.to_owned(),
        wamid: required(echo, "id")?,
        to: required(echo, "to")?,
        timestamp: timestamp(echo)?,
        content: content(echo)?,
    })
}

fn status_update(status: &Value, phone_number_id: &str) -> Result<StatusUpdate, String> {
    let state = match status.get("status").and_then(Value::as_str) {
        Some("sent") => DeliveryStatus::Sent,
        Some("delivered") => DeliveryStatus::Delivered,
        // A voice note listened to: read, for everything Cita does with statuses.
        Some("read" | "played") => DeliveryStatus::Read,
        Some("failed") => DeliveryStatus::Failed,
        Some(other) => return Err(format!("unknown status {other:?}")),
        None => return Err("a status without \"status\"".into()),
    };
    Ok(StatusUpdate {
        phone_number_id: phone_number_id.to_owned(),
        wamid: required(status, "id")?,
        status: state,
        timestamp: timestamp(status)?,
        recipient: text(status, "recipient_id"),
        errors: array(status, "errors").iter().map(graph_error).collect(),
    })
}

fn graph_error(error: &Value) -> GraphError {
    GraphError {
        code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
        title: text(error, "title")
            .or_else(|| text(error, "message"))
            .unwrap_or_default(),
        detail: error
            .pointer("/error_data/details")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

fn malformed(phone_number_id: Option<String>, reason: &str) -> Item {
    Item::Malformed {
        phone_number_id,
        reason: reason.to_owned(),
    }
}
