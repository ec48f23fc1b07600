//! Send commands on `outbound.send`. Everything the fleet says on WhatsApp goes through
//! `cita-outbound` as one of these; nothing else calls Meta's Graph API.
//!
//! Commands are versioned by their `schema` tag: a consumer that meets a schema it does
//! not know dead-letters the command instead of guessing.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "schema")]
pub enum Command {
    #[serde(rename = "send.v1")]
    SendV1(Outgoing),
}

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Chosen by the producer; the message is sent at most once per command id.
    pub command_id: Uuid,
    pub organization_id: Uuid,
    /// The recipient's WhatsApp id (`wa_id`) or phone number in international digits.
    pub to: String,
    /// The conversation the message belongs to, when there is one (a reminder to a
    /// walk-in customer who never wrote has none).
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    pub purpose: Purpose,
    /// The WhatsApp message id this one answers (shown quoted).
    #[serde(default)]
    pub reply_to: Option<String>,
    pub message: Message,
    /// Sent instead of a free-form `message` when the recipient's 24-hour customer service
    /// window is closed.
    #[serde(default)]
    pub fallback: Option<Template>,
    /// The person of the business who wrote it (in the dashboard or through the API);
    /// `None` for what the fleet says itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Owner,
    Staff,
}

impl Author {
    /// The `messages.sender_kind` of what they write.
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Owner => "owner",
            Author::Staff => "staff",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// An answer in a conversation (the assistant, or guided mode).
    Reply,
    /// Caused by an event: a booking, a cancellation, a handoff.
    Notification,
    /// Caused by the clock: a reminder, an agenda, a review request.
    Reminder,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Reply => "reply",
            Purpose::Notification => "notification",
            Purpose::Reminder => "reminder",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Text {
        body: String,
        #[serde(default)]
        preview_url: bool,
    },
    Template(Template),
    Buttons(Buttons),
    List(List),
    /// Marks an inbound message (and the ones before it) read; with `typing`, also shows
    /// the typing indicator until the reply arrives or 25 s pass.
    ReadReceipt {
        message_id: String,
        #[serde(default)]
        typing: bool,
    },
}

/// An approved message template. Parameters are positional unless named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    /// Meta's language code of an approved translation: `es_MX`, `es` (Colombia has no
    /// variant of its own), …
    pub language: String,
    #[serde(default)]
    pub header: Vec<Parameter>,
    #[serde(default)]
    pub body: Vec<Parameter>,
    #[serde(default)]
    pub buttons: Vec<TemplateButton>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// Set for templates created with named parameters.
    #[serde(default)]
    pub name: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemplateButton {
    /// A quick-reply button; a tap comes back as a `button` message with this payload.
    QuickReply { index: u8, payload: String },
    /// A URL button's dynamic suffix.
    Url { index: u8, text: String },
}

/// Up to three reply buttons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buttons {
    #[serde(default)]
    pub header: Option<String>,
    pub body: String,
    #[serde(default)]
    pub footer: Option<String>,
    pub buttons: Vec<Choice>,
}

/// A list of up to ten rows in sections, opened by `button`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List {
    #[serde(default)]
    pub header: Option<String>,
    pub body: String,
    #[serde(default)]
    pub footer: Option<String>,
    pub button: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    #[serde(default)]
    pub title: Option<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A reply button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub title: String,
}

/// Why a message breaks one of WhatsApp's limits; checked before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidMessage(pub String);

impl Message {
    /// What the message is, as recorded with it.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Text { .. } => "text",
            Message::Template(_) => "template",
            Message::Buttons(_) => "buttons",
            Message::List(_) => "list",
            Message::ReadReceipt { .. } => "read_receipt",
        }
    }

    /// Free-form messages may only be sent inside the 24-hour customer service window.
    pub fn is_free_form(&self) -> bool {
        matches!(
            self,
            Message::Text { .. } | Message::Buttons(_) | Message::List(_)
        )
    }

    /// Checks WhatsApp's limits (lengths in characters, counts, uniqueness).
    pub fn validate(&self) -> Result<(), InvalidMessage> {
        match self {
            Message::Text { body, .. } => length("text body", body, 1, 4096),
            Message::Template(template) => template.validate(),
            Message::Buttons(buttons) => buttons.validate(),
            Message::List(list) => list.validate(),
            Message::ReadReceipt { message_id, .. } => {
                length("read receipt message_id", message_id, 1, 256)
            }
        }
    }

    /// The text shown to the recipient, as far as it is known here (for the record).
    pub fn summary(&self) -> String {
        match self {
            Message::Text { body, .. } => body.clone(),
            Message::Template(template) => template.name.clone(),
            Message::Buttons(buttons) => buttons.body.clone(),
            Message::List(list) => list.body.clone(),
            Message::ReadReceipt { message_id, .. } => message_id.clone(),
        }
    }
}

impl Template {
    pub fn validate(&self) -> Result<(), InvalidMessage> {
        length("template name", &self.name, 1, 512)?;
        length("template language", &self.language, 2, 15)?;
        for parameter in self.header.iter().chain(&self.body) {
            template_text(&parameter.text)?;
            if let Some(name) = &parameter.name {
                length("template parameter name", name, 1, 64)?;
            }
        }
        let mut indexes = HashSet::new();
        for button in &self.buttons {
            let (index, text) = match button {
                TemplateButton::QuickReply { index, payload } => (index, payload),
                TemplateButton::Url { index, text } => (index, text),
            };
            if !indexes.insert(*index) {
                return invalid(format!("template button index {index} is used twice"));
            }
            length("template button parameter", text, 1, 256)?;
        }
        Ok(())
    }
}

impl Buttons {
    fn validate(&self) -> Result<(), InvalidMessage> {
        optional("buttons header", &self.header, 60)?;
        length("buttons body", &self.body, 1, 1024)?;
        optional("buttons footer", &self.footer, 60)?;
        if !(1..=3).contains(&self.buttons.len()) {
            return invalid(format!(
                "reply buttons take 1 to 3 buttons, got {}",
                self.buttons.len()
            ));
        }
        let mut titles = HashSet::new();
        let mut ids = HashSet::new();
        for button in &self.buttons {
            length("button title", &button.title, 1, 20)?;
            id("button id", &button.id, 256)?;
            if !titles.insert(button.title.as_str()) {
                return invalid(format!("button title {:?} is used twice", button.title));
            }
            if !ids.insert(button.id.as_str()) {
                return invalid(format!("button id {:?} is used twice", button.id));
            }
        }
        Ok(())
    }
}

impl List {
    fn validate(&self) -> Result<(), InvalidMessage> {
        optional("list header", &self.header, 60)?;
        length("list body", &self.body, 1, 4096)?;
        optional("list footer", &self.footer, 60)?;
        length("list button", &self.button, 1, 20)?;
        if !(1..=10).contains(&self.sections.len()) {
            return invalid(format!(
                "a list takes 1 to 10 sections, got {}",
                self.sections.len()
            ));
        }
        let rows: usize = self.sections.iter().map(|s| s.rows.len()).sum();
        if !(1..=10).contains(&rows) {
            return invalid(format!("a list takes 1 to 10 rows in all, got {rows}"));
        }
        let mut ids = HashSet::new();
        for section in &self.sections {
            match &section.title {
                Some(title) => length("list section title", title, 1, 24)?,
                None if self.sections.len() > 1 => {
                    return invalid("every section needs a title when there are several");
                }
                None => {}
            }
            for row in &section.rows {
                id("list row id", &row.id, 200)?;
                length("list row title", &row.title, 1, 24)?;
                optional("list row description", &row.description, 72)?;
                if !ids.insert(row.id.as_str()) {
                    return invalid(format!("list row id {:?} is used twice", row.id));
                }
            }
        }
        Ok(())
    }
}

fn invalid<T>(reason: impl Into<String>) -> Result<T, InvalidMessage> {
    Err(InvalidMessage(reason.into()))
}

fn length(what: &str, value: &str, min: usize, max: usize) -> Result<(), InvalidMessage> {
    let chars = value.chars().count();
    if chars < min || value.trim().is_empty() && min > 0 {
        return invalid(format!("{what} is empty"));
    }
    if chars > max {
        return invalid(format!(
            "{what} has {chars} characters; WhatsApp allows {max}"
        ));
    }
    Ok(())
}

fn optional(what: &str, value: &Option<String>, max: usize) -> Result<(), InvalidMessage> {
    value.as_deref().map_or(Ok(()), |v| length(what, v, 1, max))
}

fn id(what: &str, value: &str, max: usize) -> Result<(), InvalidMessage> {
    length(what, value, 1, max)?;
    if value.trim() != value {
        return invalid(format!("{what} {value:?} starts or ends with a space"));
    }
    Ok(())
}

/// Template parameters may not hold newlines, tabs or more than four spaces in a row.
fn template_text(text: &str) -> Result<(), InvalidMessage> {
    length("template parameter", text, 1, 1024)?;
    if text.contains(['\n', '\r', '\t']) || text.contains("     ") {
        return invalid(format!(
            "template parameter {text:?} holds a newline, a tab or more than four spaces in a row"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buttons(titles: &[&str]) -> Message {
        Message::Buttons(Buttons {
            header: None,
            body: "¿Cuál prefieres?".into(),
            footer: None,
            buttons: titles
                .iter()
                .enumerate()
                .map(|(i, t)| Choice {
                    id: format!("b{i}"),
                    title: (*t).into(),
                })
                .collect(),
        })
    }

    fn list(rows: usize, sections: usize) -> Message {
        Message::List(List {
            header: None,
            body: "Elige".into(),
            footer: None,
            button: "Ver opciones".into(),
            sections: (0..sections)
                .map(|s| Section {
                    title: Some(format!("Sección {s}")),
                    rows: (0..rows)
                        .map(|r| Row {
                            id: format!("s{s}r{r}"),
                            title: format!("Opción {r}"),
                            description: None,
                        })
                        .collect(),
                })
                .collect(),
        })
    }

    #[test]
    fn commands_round_trip_with_their_schema_tag() {
        let command = Command::SendV1(Outgoing {
            command_id: Uuid::nil(),
            organization_id: Uuid::nil(),
            to: "5215512345678".into(),
            conversation_id: None,
            purpose: Purpose::Reminder,
            reply_to: None,
            message: Message::Text {
                body: "Hola".into(),
                preview_url: false,
            },
            fallback: None,
            author: None,
        });
        let json = serde_json::to_value(&command).unwrap();
        assert_eq!(json["schema"], "send.v1");
        assert_eq!(json["message"]["type"], "text");
        assert_eq!(json["purpose"], "reminder");
        assert_eq!(serde_json::from_value::<Command>(json).unwrap(), command);
        let unknown = serde_json::json!({"schema": "send.v9", "to": "1"});
        assert!(serde_json::from_value::<Command>(unknown).is_err());
    }

    #[test]
    fn whatsapp_limits_are_enforced_with_a_reason() {
        assert!(
            buttons(&["10:30", "12:00", "Otro horario"])
                .validate()
                .is_ok()
        );
        assert_eq!(
            buttons(&["a", "b", "c", "d"]).validate().unwrap_err().0,
            "reply buttons take 1 to 3 buttons, got 4"
        );
        assert!(
            buttons(&["Un título demasiado largo"])
                .validate()
                .unwrap_err()
                .0
                .contains("20")
        );
        assert!(
            buttons(&["Sí", "Sí"])
                .validate()
                .unwrap_err()
                .0
                .contains("twice")
        );
        // Titles count characters, not bytes: twenty accented letters fit.
        assert!(buttons(&["áéíóúáéíóúáéíóúáéíóú"]).validate().is_ok());

        assert!(list(10, 1).validate().is_ok());
        assert!(list(5, 2).validate().is_ok());
        assert_eq!(
            list(6, 2).validate().unwrap_err().0,
            "a list takes 1 to 10 rows in all, got 12"
        );
        let text = Message::Text {
            body: "x".repeat(4097),
            preview_url: false,
        };
        assert!(text.validate().unwrap_err().0.contains("4097"));
        let template = Message::Template(Template {
            name: "recordatorio_cita".into(),
            language: "es_MX".into(),
            header: vec![],
            body: vec![Parameter {
                name: None,
                text: "línea\notra".into(),
            }],
            buttons: vec![],
        });
        assert!(template.validate().unwrap_err().0.contains("newline"));
    }
}
