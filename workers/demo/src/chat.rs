//! The person's side of a WhatsApp chat with a business, for the terminal: what they
//! write becomes a signed webhook posted to the ingress (as Meta would post it), and
//! what the business sends is read back from the sandbox.

use serde_json::{Value, json};

/// The demo barbershop's number (see `sql/seed/demo.sql`).
pub const PHONE_NUMBER_ID: &str = "100000000000001";

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("cannot reach {what}")]
    Unreachable {
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("the ingress answered {0} to a webhook")]
    Refused(reqwest::StatusCode),
    #[error("the sandbox answered something unreadable: {0}")]
    Unreadable(String),
}

/// One option of a buttons or list message.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// `button_reply` or `list_reply`: how a tap on it comes back.
    pub kind: &'static str,
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// A message the business sent, as the sandbox kept it.
#[derive(Debug, Clone)]
pub struct Received {
    pub seq: u64,
    pub message: Value,
    pub statuses: Vec<String>,
}

pub struct Chat {
    http: reqwest::Client,
    ingress: String,
    sandbox: String,
    app_secret: String,
    /// The person's WhatsApp id and profile name.
    pub me: String,
    name: String,
    sent: u64,
    run: String,
}

impl Chat {
    pub fn new(
        ingress: String,
        sandbox: String,
        app_secret: String,
        me: String,
        name: String,
    ) -> Chat {
        Chat {
            http: crate::http_client(),
            ingress,
            sandbox: sandbox.trim_end_matches('/').to_owned(),
            app_secret,
            me,
            name,
            sent: 0,
            // Message ids must be unique across runs: WhatsApp never reuses one, and
            // the conversation worker ignores a repeated id.
            run: jiff::Timestamp::now().as_millisecond().to_string(),
        }
    }

    pub async fn say(&mut self, text: &str) -> Result<(), ChatError> {
        let message = self.message("text", json!({"body": text}));
        self.post(message).await
    }

    pub async fn tap(&mut self, choice: &Choice) -> Result<(), ChatError> {
        let message = self.message(
            "interactive",
            json!({"type": choice.kind, choice.kind: {"id": choice.id, "title": choice.title}}),
        );
        self.post(message).await
    }

    fn message(&mut self, kind: &str, content: Value) -> Value {
        self.sent += 1;
        let mut message = json!({
            "from": self.me,
            "id": format!("wamid.demo.{}.{}", self.run, self.sent),
            "timestamp": jiff::Timestamp::now().as_second().to_string(),
            "type": kind,
        });
        message[kind] = content;
        message
    }

    async fn post(&self, message: Value) -> Result<(), ChatError> {
        let body = crate::notification(
            PHONE_NUMBER_ID,
            json!({
                "contacts": [{"profile": {"name": self.name}, "wa_id": self.me}],
                "messages": [message],
            }),
        );
        let response = crate::post_signed(&self.http, &self.ingress, &self.app_secret, &body)
            .await
            .map_err(|source| ChatError::Unreachable {
                what: "the ingress",
                source,
            })?;
        if !response.status().is_success() {
            return Err(ChatError::Refused(response.status()));
        }
        Ok(())
    }

    /// Everything the business sent this person so far, oldest first.
    pub async fn received(&self) -> Result<Vec<Received>, ChatError> {
        let url = format!("{}/sandbox/messages?to={}", self.sandbox, self.me);
        let unreachable = |source| ChatError::Unreachable {
            what: "the sandbox",
            source,
        };
        let bytes = self
            .http
            .get(url)
            .send()
            .await
            .map_err(unreachable)?
            .bytes()
            .await
            .map_err(unreachable)?;
        let body: Value =
            serde_json::from_slice(&bytes).map_err(|e| ChatError::Unreadable(e.to_string()))?;
        let list = body["messages"]
            .as_array()
            .ok_or_else(|| ChatError::Unreadable(body.to_string()))?;
        Ok(list
            .iter()
            .map(|m| Received {
                seq: m["seq"].as_u64().unwrap_or_default(),
                message: m["message"].clone(),
                statuses: m["statuses"]
                    .as_array()
                    .map(|s| {
                        s.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }
}

/// The options of a buttons or list message (none for a text).
pub fn choices(message: &Value) -> Vec<Choice> {
    let interactive = &message["interactive"];
    match interactive["type"].as_str() {
        Some("button") => interactive["action"]["buttons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| Choice {
                kind: "button_reply",
                id: b["reply"]["id"].as_str().unwrap_or_default().to_owned(),
                title: b["reply"]["title"].as_str().unwrap_or_default().to_owned(),
                description: None,
            })
            .collect(),
        Some("list") => interactive["action"]["sections"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["rows"].as_array().into_iter().flatten())
            .map(|r| Choice {
                kind: "list_reply",
                id: r["id"].as_str().unwrap_or_default().to_owned(),
                title: r["title"].as_str().unwrap_or_default().to_owned(),
                description: r["description"].as_str().map(str::to_owned),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A message's words: a text's body, an interactive message's body, or a template's name.
pub fn words(message: &Value) -> String {
    match message["type"].as_str() {
        Some("text") => message["text"]["body"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        Some("interactive") => message["interactive"]["body"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        Some("template") => format!(
            "[plantilla {}]",
            message["template"]["name"].as_str().unwrap_or("?")
        ),
        other => format!("[{}]", other.unwrap_or("mensaje")),
    }
}

/// How the terminal shows a message: its words, then its options numbered.
pub fn render(message: &Value) -> String {
    let mut out = words(message);
    for (n, choice) in choices(message).iter().enumerate() {
        out.push_str(&format!("\n   {}. {}", n + 1, choice.title));
        if let Some(description) = &choice.description {
            out.push_str(&format!(" — {description}"));
        }
    }
    out
}

/// The check marks WhatsApp would show for the latest status.
pub fn ticks(status: &str) -> &'static str {
    match status {
        "sent" => "✓ enviado",
        "delivered" => "✓✓ entregado",
        "read" => "✓✓ leído",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_buttons_render_as_numbered_options() {
        let list = json!({"type": "interactive", "interactive": {"type": "list", "body": {"text": "¿Qué servicio?"},
            "action": {"button": "Ver", "sections": [{"rows": [
                {"id": "1.svc:a", "title": "Corte", "description": "30 min"},
                {"id": "1.svc:b", "title": "Barba"}]}]}}});
        assert_eq!(
            render(&list),
            "¿Qué servicio?\n   1. Corte — 30 min\n   2. Barba"
        );
        assert_eq!(choices(&list)[1].id, "1.svc:b");
        assert_eq!(choices(&list)[1].kind, "list_reply");
        let buttons = json!({"type": "interactive", "interactive": {"type": "button", "body": {"text": "¿Confirmas?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "ok", "title": "Sí"}}]}}});
        assert_eq!(choices(&buttons)[0].kind, "button_reply");
        assert_eq!(
            render(&json!({"type": "text", "text": {"body": "Hola"}})),
            "Hola"
        );
    }
}
