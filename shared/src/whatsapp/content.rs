//! What an inbound message holds, read from its JSON by its `type`: text, a tapped
//! option, a reaction, a place, media, contact cards, edits and deletions, system notices,
//! or a kind this system does not read.

use serde_json::Value;

use super::fields::{number, required, text};

#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text {
        body: String,
    },
    /// A tapped reply button, list row or template quick reply: the option's id and the
    /// title the person saw.
    Choice {
        id: String,
        title: String,
    },
    Reaction {
        to: String,
        /// `None`: the reaction was removed.
        emoji: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
    Media {
        kind: MediaKind,
        media_id: String,
        caption: Option<String>,
        mime_type: Option<String>,
    },
    Contacts {
        count: usize,
    },
    /// The person edited an earlier message; `text` is its new text or caption.
    Edit {
        original: String,
        text: Option<String>,
    },
    /// The person deleted an earlier message for everyone.
    Revoke {
        original: String,
    },
    /// A system notice (the user changed number, …); not written by the person.
    System {
        kind: String,
        body: Option<String>,
    },
    /// A type this worker does not read (orders, polls, unknown future types).
    Unsupported {
        kind: String,
        detail: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Document,
    Sticker,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }
}

impl Content {
    /// The `content_kind` stored with the message.
    pub fn kind(&self) -> &str {
        match self {
            Content::Text { .. } => "text",
            Content::Choice { .. } => "interactive",
            Content::Reaction { .. } => "reaction",
            Content::Location { .. } => "location",
            Content::Media { kind, .. } => kind.as_str(),
            Content::Contacts { .. } => "contacts",
            Content::Edit { .. } => "edit",
            Content::Revoke { .. } => "revoke",
            Content::System { .. } => "system",
            Content::Unsupported { .. } => "unsupported",
        }
    }

    /// What the person wrote or chose, as text: a text's body, the title of a chosen
    /// option. Other kinds have no text the assistant can answer.
    pub fn text(&self) -> Option<&str> {
        match self {
            Content::Text { body } => Some(body),
            Content::Choice { title, .. } => Some(title),
            _ => None,
        }
    }

    /// The text stored as the message body (captions and places included, for staff to
    /// read back).
    pub fn body(&self) -> Option<String> {
        match self {
            Content::Text { body } => Some(body.clone()),
            Content::Choice { title, .. } => Some(title.clone()),
            Content::Reaction { emoji, .. } => emoji.clone(),
            Content::Location { name, address, .. } => {
                let place: Vec<&str> = [name, address]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                (!place.is_empty()).then(|| place.join(", "))
            }
            Content::Media { caption, .. } => caption.clone(),
            Content::System { body, .. } => body.clone(),
            Content::Edit { text, .. } => text.clone(),
            Content::Contacts { .. } | Content::Revoke { .. } | Content::Unsupported { .. } => None,
        }
    }

    pub fn media_id(&self) -> Option<&str> {
        match self {
            Content::Media { media_id, .. } => Some(media_id),
            _ => None,
        }
    }
}

pub(super) fn content(message: &Value) -> Result<Content, String> {
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let body = message.get(kind).unwrap_or(&Value::Null);
    let content = match kind {
        "text" => Content::Text {
            body: required(body, "body").map_err(|_| "a text message without text.body")?,
        },
        "interactive" => {
            let reply_kind = body.get("type").and_then(Value::as_str).unwrap_or("");
            match body.get(reply_kind) {
                Some(reply) if matches!(reply_kind, "button_reply" | "list_reply") => {
                    Content::Choice {
                        id: required(reply, "id")?,
                        title: required(reply, "title")?,
                    }
                }
                _ => Content::Unsupported {
                    kind: format!("interactive.{reply_kind}"),
                    detail: None,
                },
            }
        }
        "button" => Content::Choice {
            id: text(body, "payload").unwrap_or_default(),
            title: required(body, "text")?,
        },
        "reaction" => Content::Reaction {
            to: required(body, "message_id")?,
            emoji: text(body, "emoji").filter(|e| !e.is_empty()),
        },
        "location" => Content::Location {
            latitude: number(body, "latitude")?,
            longitude: number(body, "longitude")?,
            name: text(body, "name"),
            address: text(body, "address"),
        },
        "image" | "audio" | "video" | "document" | "sticker" => Content::Media {
            kind: match kind {
                "image" => MediaKind::Image,
                "audio" => MediaKind::Audio,
                "video" => MediaKind::Video,
                "document" => MediaKind::Document,
                _ => MediaKind::Sticker,
            },
            media_id: required(body, "id")?,
            caption: text(body, "caption"),
            mime_type: text(body, "mime_type"),
        },
        "contacts" => Content::Contacts {
            count: message
                .get("contacts")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
        },
        "edit" => Content::Edit {
            original: required(body, "original_message_id")?,
            text: body
                .pointer("/message/text/body")
                .or_else(|| {
                    let kind = body.pointer("/message/type")?.as_str()?;
                    body.get("message")?.get(kind)?.get("caption")
                })
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        "revoke" => Content::Revoke {
            original: required(body, "original_message_id")?,
        },
        "system" => Content::System {
            kind: text(body, "type").unwrap_or_default(),
            body: text(body, "body"),
        },
        other => Content::Unsupported {
            kind: other.to_owned(),
            detail: message
                .pointer("/errors/0/error_data/details")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
    };
    Ok(content)
}
